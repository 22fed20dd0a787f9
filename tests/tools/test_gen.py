"""The generated firmware tables are in sync with their single sources (DESIGN decision 2).

firmware/tagtable.py comes from protocol/tagdata.py and firmware/answertable.py from
protocol/fn/codes.py; both are checked in because the board cannot import protocol/.
Regenerate with `oblako gen` (or the oblako.gen write_* functions) when these fail.
"""

from __future__ import annotations

import ast

from firmware import answertable
from firmware.errors import answer_info
from oblako.gen import (
    FIRMWARE_ANSWERS,
    FIRMWARE_TAGS,
    firmware_answers_in_sync,
    firmware_answers_source,
    firmware_tags_in_sync,
    firmware_tags_source,
)
from protocol.fn.codes import (
    ANSWER_INFO,
    ANSWER_MESSAGES_RU,
    ANSWER_MESSAGES_RU_FN12,
    COMMAND_ANSWER_MESSAGES_RU,
    OFD_REJECT_REASON_RU,
    WARNING_FLAG_RU,
    answer_message,
)


def test_firmware_tag_table_is_in_sync() -> None:
    assert firmware_tags_in_sync(), f"{FIRMWARE_TAGS} is stale: run `oblako gen firmware-tags`"
    assert FIRMWARE_TAGS.read_text() == firmware_tags_source()


def test_firmware_answer_table_is_in_sync() -> None:
    assert firmware_answers_in_sync(), f"{FIRMWARE_ANSWERS} is stale: regenerate it"
    assert FIRMWARE_ANSWERS.read_text(encoding="utf-8") == firmware_answers_source()


def test_generated_answer_source_is_plain_python() -> None:
    # Only literals: nothing MicroPython could lack, no imports.
    tree = ast.parse(firmware_answers_source())
    for node in tree.body:
        assert isinstance(node, ast.Assign)
        ast.literal_eval(node.value)


def test_answer_table_says_what_the_spec_says() -> None:
    assert set(answertable.ANSWERS) == {int(c) for c in ANSWER_INFO}
    for code, info in ANSWER_INFO.items():
        assert answertable.ANSWERS[code] == (
            ANSWER_MESSAGES_RU[code],
            info.meaning_en,
            info.retryable,
        )
        assert answer_info(code) == answertable.ANSWERS[code]
        assert answer_info(code | 0x80)[0] == answer_message(code)  # warning bit ignored
        assert answer_info(code, fn12=True)[0] == answer_message(code, fn12=True)
    for (command, code), text in COMMAND_ANSWER_MESSAGES_RU.items():
        assert answer_info(code, command)[0] == text == answer_message(code, command)
    assert {int(c): t for c, t in ANSWER_MESSAGES_RU_FN12.items()} == answertable.ANSWERS_FN12
    assert {int(c): t for c, t in OFD_REJECT_REASON_RU.items()} == answertable.OFD_REJECT_REASONS
    assert {int(c): t for c, t in WARNING_FLAG_RU.items()} == answertable.WARNING_FLAGS
    assert answer_info(0x7E)[0] == answer_message(0x7E)  # the same text for unknown codes
