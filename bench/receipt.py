# bench/receipt.py: the benchmark's receipt, in the firmware codec's field form.
# Portable (MicroPython subset): the same document is timed on CPython and MicroPython.

_NAMES = (
    "Хлеб Бородинский нарезка 400 г",
    "Молоко пастеризованное 3,2% 1 л",
    "Сыр Российский весовой",
    "Кофе молотый Арабика 250 г",
    "Яблоки Голден, кг",
)


def item(i: int) -> tuple:
    """Item i of the receipt: a 1059 STLV as FFD 1.2 asks (name, price, qty, VAT, sums)."""
    price = 4990 + 137 * i  # kopecks
    qty_m = 1000 + 250 * (i % 4)  # quantity with 3 decimals
    total = price * qty_m // 1000
    return (
        1059,
        [
            (1030, _NAMES[i % len(_NAMES)]),
            (1079, price),
            (1023, "%d.%03d" % (qty_m // 1000, qty_m % 1000)),
            (2108, 0 if i % 5 else 11),
            (1043, total),
            (1199, 1 + i % 2),
            (1200, total * 20 // 120),
            (1212, 1),
            (1214, 4),
        ],
    )


def receipt(n_items: int = 20) -> list:
    """A receipt document (tag 3) with n_items items, cash and card payments."""
    items = [item(i) for i in range(n_items)]
    total = 0
    for it in items:
        total += it[1][4][1]
    cash = total // 3
    return [
        (
            3,
            [
                (1054, 1),
                (1055, 1),
                (1012, 1705314600),
                (1021, "Кассир Иванова А. П."),
                (1203, "770123456789"),
                (1008, "buyer@example.ru"),
            ]
            + items
            + [
                (1020, total),
                (1031, cash),
                (1081, total - cash),
                (1215, 0),
                (1216, 0),
                (1217, 0),
                (1102, total * 20 // 120),
            ],
        )
    ]
