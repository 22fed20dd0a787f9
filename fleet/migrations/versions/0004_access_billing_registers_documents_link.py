"""Roles and tokens, billing (tariffs, ledger, payments), stores, fiscal documents, broker accounts

New NOT NULL columns of existing tables get server defaults for the rows already there; the
default tariffs are inserted (the same rows as fleet.billing.tariffs.DEFAULT_TARIFFS).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 03:34:39.874853
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "mqttaccount",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "tariff",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("price_kop", sa.Integer(), nullable=False),
        sa.Column("receipts_quota", sa.Integer(), nullable=True),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("paid_amount", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("paid_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_number"), ["number"], unique=True)

    op.create_table(
        "ledgeraccount",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id"),
    )
    with op.batch_alter_table("ledgeraccount", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledgeraccount_code"), ["code"], unique=True)

    op.create_table(
        "ledgertransaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("memo", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledgertransaction", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledgertransaction_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledgertransaction_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledgertransaction_idempotency_key"), ["idempotency_key"], unique=True
        )

    op.create_table(
        "bankpayment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("doc_number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("doc_date", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("payer_inn", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("payer_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledgertransaction.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bankpayment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bankpayment_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bankpayment_line_key"), ["line_key"], unique=True)
        batch_op.create_index(batch_op.f("ix_bankpayment_status"), ["status"], unique=False)

    op.create_table(
        "cardpayment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("operation_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("failure_reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledgertransaction.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cardpayment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cardpayment_company_id"), ["company_id"], unique=False)

    op.create_table(
        "ledgerentry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledgeraccount.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledgertransaction.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledgerentry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledgerentry_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledgerentry_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledgerentry_transaction_id"), ["transaction_id"], unique=False
        )

    op.create_table(
        "rolefolder",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("folder_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["registerfolder.id"],
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["role.id"],
        ),
        sa.PrimaryKeyConstraint("role_id", "folder_id"),
    )
    with op.batch_alter_table("rolefolder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rolefolder_folder_id"), ["folder_id"], unique=False)

    op.create_table(
        "apitoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.Float(), nullable=True),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["role.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apitoken_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_apitoken_role_id"), ["role_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_apitoken_token_hash"), ["token_hash"], unique=True)

    op.create_table(
        "fiscaldocument",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("fn_number", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("fd_number", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.Integer(), nullable=False),
        sa.Column("operation", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("tax_system", sa.Integer(), nullable=True),
        sa.Column("shift_number", sa.Integer(), nullable=True),
        sa.Column("fiscal_sign", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("has_marking", sa.Boolean(), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("ofd_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("ofd_code", sa.Integer(), nullable=True),
        sa.Column("ofd_answered_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fn_number", "fd_number", name="uq_fiscaldocument_fn_fd"),
    )
    with op.batch_alter_table("fiscaldocument", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fiscaldocument_company_issued", ["company_id", "issued_at"], unique=False
        )
        batch_op.create_index(
            "ix_fiscaldocument_register_counters",
            ["register_id", "doc_type"],
            unique=False,
            postgresql_include=[
                "operation",
                "ofd_status",
                "has_marking",
                "tax_system",
                "issued_at",
            ],
        )

    op.create_table(
        "registerperiod",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("tariff_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledgertransaction.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("register_id", "period"),
    )
    with op.batch_alter_table("registerperiod", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registerperiod_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registerperiod_register_id"), ["register_id"], unique=False
        )

    with op.batch_alter_table("auditlog", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_auditlog_action"), ["action"], unique=False)

    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tariff_code",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=False,
                server_default="start",
            )
        )

    with op.batch_alter_table("emailtoken", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "purpose",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="confirm",
            )
        )

    with op.batch_alter_table("register", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rnm", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column("shift_open", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("has_errors", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.add_column(sa.Column("last_seen_at", sa.Float(), nullable=True))
        batch_op.create_index(
            "ix_register_company_expires", ["company_id", "drive_expires_at"], unique=False
        )
        batch_op.create_index("ix_register_company_id_id", ["company_id", "id"], unique=False)
        batch_op.create_index("ix_register_company_state", ["company_id", "state"], unique=False)
        batch_op.create_index("ix_register_company_store", ["company_id", "store_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_register_rnm"), ["rnm"], unique=False)

    with op.batch_alter_table("role", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=False,
                server_default="custom",
            )
        )

    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="shop",
            )
        )
        batch_op.add_column(
            sa.Column("postal_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True)
        )
        batch_op.add_column(
            sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True)
        )
        batch_op.add_column(
            sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("street", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("house", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("flat", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("website", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "timezone",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="Europe/Moscow",
            )
        )
        batch_op.add_column(sa.Column("updated_at", sa.Float(), nullable=True))

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("invited_by", sa.Integer(), nullable=True))

    tariff = sa.table(
        "tariff",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("price_kop", sa.Integer),
        sa.column("receipts_quota", sa.Integer),
        sa.column("months", sa.Integer),
        sa.column("active", sa.Boolean),
        sa.column("created_at", sa.Float),
        sa.column("updated_at", sa.Float),
    )
    op.bulk_insert(
        tariff,
        [
            {
                "code": "start",
                "name": "Старт",
                "price_kop": 150_000,
                "receipts_quota": 3_000,
                "months": 1,
                "active": True,
                "created_at": 0.0,
                "updated_at": 0.0,
            },
            {
                "code": "business",
                "name": "Бизнес",
                "price_kop": 250_000,
                "receipts_quota": None,
                "months": 1,
                "active": True,
                "created_at": 0.0,
                "updated_at": 0.0,
            },
            {
                "code": "year",
                "name": "Год (предоплата 12 месяцев)",
                "price_kop": 180_000,
                "receipts_quota": None,
                "months": 12,
                "active": True,
                "created_at": 0.0,
                "updated_at": 0.0,
            },
        ],
    )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("invited_by")
        batch_op.drop_column("blocked_at")

    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("timezone")
        batch_op.drop_column("website")
        batch_op.drop_column("flat")
        batch_op.drop_column("house")
        batch_op.drop_column("street")
        batch_op.drop_column("city")
        batch_op.drop_column("region_code")
        batch_op.drop_column("postal_code")
        batch_op.drop_column("kind")

    with op.batch_alter_table("role", schema=None) as batch_op:
        batch_op.drop_column("kind")

    with op.batch_alter_table("register", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_rnm"))
        batch_op.drop_index("ix_register_company_store")
        batch_op.drop_index("ix_register_company_state")
        batch_op.drop_index("ix_register_company_id_id")
        batch_op.drop_index("ix_register_company_expires")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("has_errors")
        batch_op.drop_column("shift_open")
        batch_op.drop_column("name")
        batch_op.drop_column("rnm")

    with op.batch_alter_table("emailtoken", schema=None) as batch_op:
        batch_op.drop_column("purpose")

    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_column("tariff_code")

    with op.batch_alter_table("auditlog", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditlog_action"))
        batch_op.drop_column("token_id")

    with op.batch_alter_table("registerperiod", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registerperiod_register_id"))
        batch_op.drop_index(batch_op.f("ix_registerperiod_company_id"))

    op.drop_table("registerperiod")
    with op.batch_alter_table("fiscaldocument", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_fiscaldocument_register_counters",
            postgresql_include=[
                "operation",
                "ofd_status",
                "has_marking",
                "tax_system",
                "issued_at",
            ],
        )
        batch_op.drop_index("ix_fiscaldocument_company_issued")

    op.drop_table("fiscaldocument")
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apitoken_token_hash"))
        batch_op.drop_index(batch_op.f("ix_apitoken_role_id"))
        batch_op.drop_index(batch_op.f("ix_apitoken_company_id"))

    op.drop_table("apitoken")
    with op.batch_alter_table("rolefolder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rolefolder_folder_id"))

    op.drop_table("rolefolder")
    with op.batch_alter_table("ledgerentry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledgerentry_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_ledgerentry_created_at"))
        batch_op.drop_index(batch_op.f("ix_ledgerentry_account_id"))

    op.drop_table("ledgerentry")
    with op.batch_alter_table("cardpayment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cardpayment_company_id"))

    op.drop_table("cardpayment")
    with op.batch_alter_table("bankpayment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bankpayment_status"))
        batch_op.drop_index(batch_op.f("ix_bankpayment_line_key"))
        batch_op.drop_index(batch_op.f("ix_bankpayment_company_id"))

    op.drop_table("bankpayment")
    with op.batch_alter_table("ledgertransaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledgertransaction_idempotency_key"))
        batch_op.drop_index(batch_op.f("ix_ledgertransaction_created_at"))
        batch_op.drop_index(batch_op.f("ix_ledgertransaction_company_id"))

    op.drop_table("ledgertransaction")
    with op.batch_alter_table("ledgeraccount", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledgeraccount_code"))

    op.drop_table("ledgeraccount")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_number"))
        batch_op.drop_index(batch_op.f("ix_invoice_company_id"))

    op.drop_table("invoice")
    op.drop_table("tariff")
    op.drop_table("mqttaccount")
