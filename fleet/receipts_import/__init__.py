"""Receipts from a bank registry: 1CClientBankExchange statements and acquiring CSV registries
read (sans-IO parsers), turned into sale receipts, previewed, de-duplicated and sent."""
