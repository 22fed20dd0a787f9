"""Splitting a receipt too large for one fiscal document into parts that each fit.

The drive takes at most 30 KB of TLV for a receipt (protocol/portable/receipt.py
MAX_DOCUMENT, 15h/17h, reference fiscal-protocols.md §1.6) and the register adds its own
requisites to each document (1048, 1009, 1187, 1117, 1036: up to ~870 bytes with headers,
firmware/register.py `_user_identity`), so a part is planned to leave `IDENTITY_RESERVE` free.
Items are packed in their order; the payments are shared out kind by kind so each part's
payments equal its total (the schema's rule, to the kopeck). Every part is then checked again
with the shared `check()`: what the fleet sends the register would accept.
"""

from __future__ import annotations

import json
from typing import Any, Final

from protocol.portable import link
from protocol.portable import receipt as schema

__all__ = ["IDENTITY_RESERVE", "PART_LIMIT", "needs_split", "split"]

IDENTITY_RESERVE: Final = 1024
#: The part's own TLV budget: payments and VAT totals of a part are at most those of one item
#: plus this (five payment kinds, eight VAT total tags and the 1115 list).
_TOTALS_RESERVE: Final = 256
PART_LIMIT: Final = schema.MAX_DOCUMENT - IDENTITY_RESERVE
#: A part also travels as one `cmd` message (48 KiB, docs/mqtt.md): its JSON stays under this,
#: leaving room for the envelope (version, id, TTL, issue time, action).
JSON_LIMIT: Final = link.MAX_PAYLOAD[link.CMD] - 1024
# kinds whose rules tie them to items (credit, prepayment) are spent first, in the parts that
# come first; the rest follow
_PAY_ORDER: Final = ("prepayment", "credit", "provision", "electronic", "cash")


def needs_split(
    request: Any, norm: dict[str, Any] | None, errors: list[tuple[str, str, str]]
) -> bool:
    """Whether a checked request is valid except for its size: too large for one document
    (with the register's requisites) or for one command message."""
    if norm is None:
        return bool(errors) and all(code == "document_too_large" for _p, code, _m in errors)
    return schema.size(norm) > PART_LIMIT or _json_size(request) > JSON_LIMIT


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _one_item(request: dict[str, Any], item: Any) -> dict[str, Any]:
    body = {k: v for k, v in request.items() if k not in ("items", "payments", "total")}
    body["items"] = [item]
    amount = item.get("sum") if isinstance(item, dict) else None
    body["payments"] = {"electronic": amount if isinstance(amount, int) else 0}
    return body


def split(request: dict[str, Any], now: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """(part requests, errors): the request cut into parts of whole items, or the problems
    (paths under ``parts[i]``) when a part would not pass the shared check."""
    items = request.get("items")
    if not isinstance(items, list) or not items:
        return [], [("items", "document_too_large", "Чек не удаётся разделить: нет позиций")]
    sizes: list[int] = []
    base = 0
    for i, item in enumerate(items):
        norm, errs = schema.check(_one_item(request, item), None, now)
        if norm is None:
            return [], [(f"items[{i}]." + p if p else f"items[{i}]", c, m) for p, c, m in errs]
        item_size = schema.field_size((1059, schema.item_fields(norm["items"][0], norm["ffd"])))
        sizes.append(item_size)
        base = max(base, schema.size(norm) - item_size)
    budget = PART_LIMIT - base - _TOTALS_RESERVE
    json_budget = JSON_LIMIT - _json_size({k: v for k, v in request.items() if k != "items"})
    groups: list[list[int]] = [[]]
    used = used_json = 0
    for i, n in enumerate(sizes):
        j = _json_size(items[i]) + 1
        if groups[-1] and (used + n > budget or used_json + j > json_budget):
            groups.append([])
            used = used_json = 0
        groups[-1].append(i)
        used += n
        used_json += j
    payments = request.get("payments")
    left = {k: v for k, v in (payments or {}).items() if isinstance(v, int)}
    parts: list[dict[str, Any]] = []
    problems: list[Any] = []
    for g, idx in enumerate(groups):
        part_items = [items[i] for i in idx]
        total = sum(int(items[i]["sum"]) for i in idx)
        pay: dict[str, int] = {}
        need = total
        for kind in _PAY_ORDER:
            take = min(need, left.get(kind, 0))
            if take > 0:
                pay[kind] = take
                left[kind] -= take
                need -= take
        part = {k: v for k, v in request.items() if k not in ("items", "payments", "total")}
        part["items"] = part_items
        part["payments"] = pay
        part["total"] = total
        _norm, errs = schema.check(part, None, now)
        problems.extend((f"parts[{g}].{p}" if p else f"parts[{g}]", c, m) for p, c, m in errs)
        parts.append(part)
    return parts, problems
