"""The relational schema (SQLAlchemy Core + GeoAlchemy2). Alembic migrations create it.

Availability is derived, not stored: an asset is taken while a rental of it is
unlocking or active, which two partial unique indexes enforce, so two riders can
never hold one bike and a rider never holds two.
"""

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from rental.domain.credit import INITIAL_SCORE

metadata = MetaData()

OPEN_RENTAL = text("state IN ('unlocking', 'active')")

cities = Table(
    "cities",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timezone", Text, nullable=False),
    Column("center", Geometry("POINT", srid=4326), nullable=False),
    Column("locale", Text, nullable=False, server_default=text("'en'")),  # BCP 47
    Column("launched_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("retired_at", DateTime(timezone=True)),  # no new rides, holds or vehicles after
    # The payment gateways riders may pay through in the city, by name, and the one a
    # payment takes unless the rider picks another; none: the platform's default gateway.
    Column("payment_gateways", ARRAY(String(24)), nullable=False, server_default=text("'{}'")),
    Column("default_gateway", String(24)),
    CheckConstraint(
        "default_gateway IS NULL OR default_gateway = ANY(payment_gateways)",
        name="cities_default_gateway_offered",
    ),
)

RUNNING_CITY = text("cities.retired_at IS NULL")

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("phone", String(16), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    # A code texted to the number was typed back (rental.services.phone_sign_in).
    Column("phone_proven", Boolean, nullable=False, server_default=text("false")),
    Column("credit_score", Integer, nullable=False, server_default=text(str(INITIAL_SCORE))),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("role IN ('rider', 'operator')", name="users_role"),
)

# One signed-in device of one account (rental.domain.sessions). Every authenticated
# request reads its row by primary key.
sessions = Table(
    "sessions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("ended_because", String(32)),
    CheckConstraint(
        "ended_because IN ('signed_out', 'refresh_token_reused', 'password_changed')",
        name="sessions_ended_because",
    ),
    CheckConstraint("(ended_at IS NULL) = (ended_because IS NULL)", name="sessions_end_reason"),
    Index("sessions_live_by_user", "user_id", postgresql_where=text("ended_at IS NULL")),
)

# Every refresh token a session was given, as its SHA-256: the current one, and the spent
# ones, so that a spent one presented again ends the session.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column(
        "session_id",
        UUID(as_uuid=True),
        ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    CheckConstraint("octet_length(token_hash) = 32", name="refresh_tokens_sha256"),
    Index("refresh_tokens_by_session", "session_id"),
)

# The sign-in code waiting for each phone (rental.domain.phone_codes), as a keyed hash.
phone_codes = Table(
    "phone_codes",
    metadata,
    Column("phone", String(16), primary_key=True),
    Column("code_hash", LargeBinary, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("tries_left", Integer, nullable=False),
    CheckConstraint("octet_length(code_hash) = 32", name="phone_codes_sha256"),
    CheckConstraint("tries_left >= 0", name="phone_codes_tries"),
)

# What the sandbox SMS provider "sent" (rental.adapters.sandbox_sms), for the demo's page.
sandbox_sms = Table(
    "sandbox_sms",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("phone", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

locks = Table(
    "locks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("signing_key", LargeBinary, nullable=False),
    Column("online", Boolean, nullable=False, server_default=text("false")),
    Column("boot", BigInteger),
    Column("locked", Boolean),
    Column("battery_pct", Integer),
    Column("position", Geometry("POINT", srid=4326, spatial_index=False)),
    Column("last_seen_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # The (boot, seq) of the report `locked` came from: a late report never overrides a newer.
    Column("latch_boot", BigInteger),
    Column("latch_seq", BigInteger),
    Column("latch_reported_at", DateTime(timezone=True)),
    # An unlock went unanswered: the latch may have opened. Riders do not see the vehicle
    # until the lock reports its latch at or after this moment (by its own clock).
    Column("latch_unknown_since", DateTime(timezone=True)),
    # Where riders may find the vehicle: `position` while its latch is not reported open,
    # NULL while it rides. Spatial searches read this one, which PostgreSQL keeps: no index
    # covers `position`, so a riding bike's fixes are HOT updates (migration 0031, which
    # also leaves room for them on each page: fillfactor 70).
    Column(
        "parked_position",
        Geometry("POINT", srid=4326, spatial_index=False),
        Computed("CASE WHEN locked IS NOT false THEN position END", persisted=True),
    ),
    Index("locks_parked_position", "parked_position", postgresql_using="gist"),
    # Nearest-first search orders by true distance: a geography index.
    Index(
        "locks_parked_position_geography",
        text("(parked_position::geography)"),
        postgresql_using="gist",
    ),
)

assets = Table(
    "assets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("city_id", String(40), ForeignKey("cities.id"), nullable=False),
    # A vehicle has its own lock; an item has none and sits in a cabinet's slot or is out.
    Column("lock_id", String(40), ForeignKey("locks.id"), unique=True),
    Column("in_service", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # Parked where it should not be: staff should fetch it.
    Column("needs_retrieval", Boolean, nullable=False, server_default=text("false")),
    Column("cabinet_id", String(40), ForeignKey("cabinets.lock_id")),
    Column("slot", Integer),
    # The device that holds it now, kept by PostgreSQL: one indexed equality to join on.
    Column("device_id", String(40), Computed("coalesce(lock_id, cabinet_id)", persisted=True)),
    Index("assets_by_device", "device_id"),
    Index("assets_by_city", "city_id", "kind"),
    # What open-data feeds call the vehicle: a new one after every trip (GBFS's rule).
    Column("public_id", Text, nullable=False, server_default=text("gen_random_uuid()::text")),
    CheckConstraint("lock_id IS NULL OR cabinet_id IS NULL", name="assets_lock_or_cabinet"),
    CheckConstraint("(cabinet_id IS NULL) = (slot IS NULL)", name="assets_cabinet_has_slot"),
    UniqueConstraint("cabinet_id", "slot", name="assets_one_per_slot"),
)

cabinets = Table(
    "cabinets",
    metadata,
    # A cabinet is a device on the broker like a lock: same provisioning, same protocol.
    Column("lock_id", String(40), ForeignKey("locks.id"), primary_key=True),
    Column("city_id", String(40), ForeignKey("cities.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("slots", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("slots BETWEEN 1 AND 200", name="cabinets_slots"),
)

pricing_plans = Table(
    "pricing_plans",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("city_id", String(40), ForeignKey("cities.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("unlock_fee_minor", BigInteger, nullable=False),
    Column("rate_per_interval_minor", BigInteger, nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("free_seconds", Integer, nullable=False),
    Column("daily_cap_minor", BigInteger),
    Column("reservation_per_minute_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("out_of_zone_fee_minor", BigInteger, nullable=False, server_default=text("0")),
    # What an item costs when never returned; the rental ends once its fare reaches it.
    Column("replacement_price_minor", BigInteger),
    Column("deposit_minor", BigInteger, nullable=False, server_default=text("0")),
    # Riders whose credit score reaches this ride without the deposit; NULL: nobody.
    Column("deposit_waiver_score", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("retired_at", DateTime(timezone=True)),
    # Old versions stay: past rentals point at the plan they were priced with.
    Index(
        "pricing_plans_one_current",
        "city_id",
        "kind",
        unique=True,
        postgresql_where=text("retired_at IS NULL"),
    ),
)

rentals = Table(
    "rentals",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("rider_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("asset_id", UUID(as_uuid=True), ForeignKey("assets.id"), nullable=False),
    Column("lock_id", String(40), ForeignKey("locks.id"), nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("failure_reason", String(32)),
    Column("tariff", JSONB, nullable=False),
    Column("plan_id", UUID(as_uuid=True), ForeignKey("pricing_plans.id")),
    Column("unlock_command_id", UUID(as_uuid=True)),
    Column("unlock_expires_at", DateTime(timezone=True)),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("fare_minor", BigInteger),
    Column("distance_m", Float),
    Column("trace", Geometry("LINESTRING", srid=4326, spatial_index=False)),
    Column("end_position", Geometry("POINT", srid=4326, spatial_index=False)),
    Column("parking", String(24)),
    Column("parking_message", Text),
    Column("out_of_zone_fee_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("position_doubt", Text),
    Column("slot", Integer),  # the cabinet slot an item was released from
    Column("unreturned", Boolean, nullable=False, server_default=text("false")),
    # The unlock's place in the lock's own order: only reports after it can end the ride.
    Column("unlock_boot", BigInteger),
    Column("unlock_seq", BigInteger),
    Column("late_unlock", Boolean, nullable=False, server_default=text("false")),
    Column("notice", Text),  # what the rider is told about this rental, beyond its state
    UniqueConstraint("rider_id", "idempotency_key", name="rentals_rider_idempotency_key"),
    CheckConstraint("state IN ('unlocking', 'active', 'ended', 'failed')", name="rentals_state"),
    Index("rentals_one_open_per_asset", "asset_id", unique=True, postgresql_where=OPEN_RENTAL),
    Index("rentals_one_open_per_rider", "rider_id", unique=True, postgresql_where=OPEN_RENTAL),
    Index("rentals_open_per_lock", "lock_id", postgresql_where=OPEN_RENTAL),
    Index("rentals_by_rider", "rider_id", "requested_at"),
    Index("rentals_by_lock", "lock_id", "started_at"),
    # The sweeper of unanswered unlocks reads only these.
    Index(
        "rentals_unlocking_by_expiry",
        "unlock_expires_at",
        postgresql_where=text("state = 'unlocking'"),
    ),
)

lock_events = Table(
    "lock_events",
    metadata,
    Column("lock_id", String(40), ForeignKey("locks.id"), nullable=False),
    Column("boot", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(20), nullable=False),
    Column("cmd_id", String(64)),
    Column("payload", JSONB, nullable=False),
    Column("lock_time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # QoS 1 redelivers: the lock's (boot, seq) makes every event count once.
    PrimaryKeyConstraint("lock_id", "boot", "seq", name="lock_events_pkey"),
    # An item's returns, at any cabinet (a return processed before its late release).
    Index(
        "lock_events_returns_by_item",
        text("(payload->>'item')"),
        "lock_time",
        postgresql_where=text("type = 'returned'"),
    ),
)

# Partitioned by UTC day (migration 0020): a day is forgotten by dropping its partition.
# No foreign key to locks: the telemetry use case stores fixes of the locks it holds.
lock_positions = Table(
    "lock_positions",
    metadata,
    Column("lock_id", String(40), nullable=False),
    Column("boot", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # Read by lock and time only: a spatial index would just slow the insert path.
    Column("position", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("battery_pct", Integer),
    Column("accuracy_m", Float),
    Column("locked", Boolean, nullable=False),
    PrimaryKeyConstraint("lock_id", "boot", "seq", "recorded_at", name="lock_positions_pkey"),
    Index("lock_positions_by_time", "lock_id", "recorded_at"),
    Index("lock_positions_by_recorded_at", "recorded_at", postgresql_using="brin"),
    postgresql_partition_by="RANGE (recorded_at)",
)

# Lock messages that could not be processed, kept for operators to read and replay.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("topic", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("reason", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("replayed_at", DateTime(timezone=True)),
    Column("replay_outcome", Text),
    Index("dead_letters_open", "received_at", postgresql_where=text("replayed_at IS NULL")),
    Index(
        "dead_letters_once",
        "topic",
        text("md5(payload)"),
        unique=True,
        postgresql_where=text("replayed_at IS NULL"),
    ),
)

# Fields a lock sent that failed their checks and were dropped (the rest was used).
lock_report_problems = Table(
    "lock_report_problems",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("lock_id", String(40), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("boot", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("dropped", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("lock_report_problems_by_lock", "lock_id", "received_at"),
)

NO_ASSET = "'00000000-0000-0000-0000-000000000000'::uuid"

# What operators must look at: opened by the reconciling pass, resolved when it clears.
alerts = Table(
    "alerts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("lock_id", String(40), nullable=False),
    Column("asset_id", UUID(as_uuid=True)),
    Column("city_id", String(40)),
    Column("detail", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Index(
        "alerts_one_open_per_kind_lock_and_asset",
        "kind",
        "lock_id",
        text(f"coalesce(asset_id, {NO_ASSET})"),
        unique=True,
        postgresql_where=text("resolved_at IS NULL"),
    ),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("owner_id", Text, nullable=False, server_default=text("''")),
    Column("balance_minor", BigInteger, nullable=False, server_default=text("0")),
    UniqueConstraint("kind", "currency", "owner_id", name="accounts_kind_currency_owner"),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", String(24), nullable=False),
    # The same business event can never be booked twice (e.g. "fare:<rental id>").
    Column("reference", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

postings = Table(
    "postings",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "transaction_id", UUID(as_uuid=True), ForeignKey("ledger_transactions.id"), nullable=False
    ),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Index("postings_by_account", "account_id"),
)

credit_events = Table(
    "credit_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("score_after", Integer, nullable=False),
    # One effect per business event, e.g. "ride:<rental id>".
    Column("reference", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("credit_events_by_user", "user_id", "created_at"),
)

# Which request each rider's idempotency key was first used for (rental.domain.idempotency).
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("rider_id", UUID(as_uuid=True), ForeignKey("users.id"), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("operation", String(16), nullable=False),
    Column("request", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

payment_orders = Table(
    "payment_orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("rider_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("gateway", String(24), nullable=False),
    Column("state", String(16), nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("trade_no", String(64)),
    Column("pay_url", Text),
    Column("refunded_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("paid_at", DateTime(timezone=True)),
    # Until when it waits for its payment and counts among the rider's open orders.
    Column("expires_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("rider_id", "idempotency_key", name="payment_orders_rider_idempotency_key"),
    CheckConstraint("amount_minor > 0", name="payment_orders_positive"),
    CheckConstraint("refunded_minor BETWEEN 0 AND amount_minor", name="payment_orders_refundable"),
    Index(
        "payment_orders_pending_by_rider",
        "rider_id",
        "expires_at",
        postgresql_where=text("state = 'pending'"),
    ),
    Index(
        "payment_orders_pending_by_expiry", "expires_at", postgresql_where=text("state = 'pending'")
    ),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("order_id", UUID(as_uuid=True), ForeignKey("payment_orders.id"), nullable=False),
    Column("rider_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("request_key", String(80), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("settled_at", DateTime(timezone=True)),
    CheckConstraint("amount_minor > 0", name="refunds_positive"),
)

disputes = Table(
    "disputes",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("rental_id", UUID(as_uuid=True), ForeignKey("rentals.id"), nullable=False),
    Column("rider_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("refund_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("note", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("resolved_at", DateTime(timezone=True)),
    Index(
        "disputes_one_open_per_rental",
        "rental_id",
        unique=True,
        postgresql_where=text("state = 'open'"),
    ),
)

ZONE_KINDS = "kind IN ('service_area', 'no_parking', 'parking', 'slow', 'no_ride')"

zones = Table(
    "zones",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("city_id", String(40), ForeignKey("cities.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("max_speed_kph", Float),
    Column("geometry", Geometry("MULTIPOLYGON", srid=4326), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint(ZONE_KINDS, name="zones_kind"),
    CheckConstraint("kind <> 'slow' OR max_speed_kph > 0", name="zones_slow_has_speed"),
    Index("zones_by_city", "city_id", "kind"),
)

speeding_events = Table(
    "speeding_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("rental_id", UUID(as_uuid=True), ForeignKey("rentals.id"), nullable=False),
    Column("zone_id", UUID(as_uuid=True), ForeignKey("zones.id", ondelete="SET NULL")),
    Column("zone_name", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("speed_kph", Float, nullable=False),
    Column("max_speed_kph", Float, nullable=False),
    Column("position", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    UniqueConstraint("rental_id", "recorded_at", name="speeding_once_per_fix"),
)

OPEN_RESERVATION = text("state = 'held'")

reservations = Table(
    "reservations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("rider_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("asset_id", UUID(as_uuid=True), ForeignKey("assets.id"), nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("tariff", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("fee_minor", BigInteger),
    Column("rental_id", UUID(as_uuid=True), ForeignKey("rentals.id")),
    UniqueConstraint("rider_id", "idempotency_key", name="reservations_rider_idempotency_key"),
    CheckConstraint("state IN ('held', 'used', 'cancelled', 'expired')", name="reservations_state"),
    Index("reservations_one_per_rider", "rider_id", unique=True, postgresql_where=OPEN_RESERVATION),
    Index("reservations_one_per_asset", "asset_id", unique=True, postgresql_where=OPEN_RESERVATION),
    Index("reservations_held_by_expiry", "expires_at", postgresql_where=OPEN_RESERVATION),
    Index("reservations_by_rider", "rider_id", "ended_at"),  # a rider's recent holds
)

damage_reports = Table(
    "damage_reports",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("asset_id", UUID(as_uuid=True), ForeignKey("assets.id"), nullable=False),
    Column("reporter_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("category", String(24), nullable=False),
    Column("photo_ref", Text),
    Column("note", Text),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", UUID(as_uuid=True), ForeignKey("users.id")),
    Column("resolution", Text),
    CheckConstraint("state IN ('open', 'closed')", name="damage_reports_state"),
    # One open report per rider and asset: repeats add nothing.
    Index(
        "damage_reports_one_open_per_reporter",
        "asset_id",
        "reporter_id",
        unique=True,
        postgresql_where=text("state = 'open'"),
    ),
    Index("damage_reports_open", "asset_id", postgresql_where=text("state = 'open'")),
    Index("damage_reports_by_reporter", "reporter_id", "created_at"),  # a rider's daily limit
)

# The photos riders take of damage, as the platform encoded them (no metadata); a report
# names one by its id in `photo_ref`. Kept as bytes here: a few hundred kB each, a few a day.
damage_photos = Table(
    "damage_photos",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("uploader_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("content_type", String(16), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint(
        "content_type IN ('image/jpeg', 'image/png', 'image/webp')",
        name="damage_photos_content_type",
    ),
    Index("damage_photos_by_uploader", "uploader_id", "created_at"),
)

# Conditions written as SQL rather than bound parameters, so that a generic (prepared)
# plan can still prove they match the partial indexes above.
HELD_RESERVATION = reservations.c.state == literal_column("'held'")
OPEN_DAMAGE_REPORT = damage_reports.c.state == literal_column("'open'")

# What happened to each vehicle, appended in the transaction that changed it: the history
# cities read through MDS. Items (power banks, umbrellas) are not vehicles and have none.
vehicle_events = Table(
    "vehicle_events",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("asset_id", UUID(as_uuid=True), ForeignKey("assets.id"), nullable=False),
    Column("city_id", String(40), ForeignKey("cities.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("position", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("battery_pct", Integer),
    Column("rental_id", UUID(as_uuid=True), ForeignKey("rentals.id")),
    Index("vehicle_events_by_city", "city_id", "at", "id"),
    Index("vehicle_events_by_asset", "asset_id", "at"),
)

# A city's (or its contractor's) access to MDS: one token per client, revocable.
mds_clients = Table(
    "mds_clients",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("city_id", String(40), ForeignKey("cities.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("revoked_at", DateTime(timezone=True)),
)

# Each city's trucks for the nightly rebalancing, set by operators.
rebalancing_fleets = Table(
    "rebalancing_fleets",
    metadata,
    Column("city_id", String(40), ForeignKey("cities.id"), primary_key=True),
    Column("depot", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("trucks", JSONB, nullable=False),  # [{"capacity": 30, "shift_hours": 7}, ...]
    Column("speed_kph", Float, nullable=False),
    Column("nightly_hour", Integer, nullable=False),  # local time
    Column("time_limit_seconds", Integer, nullable=False),
    # Bikes waiting at the depot that trucks may take out; trucks may always bring some back.
    Column("depot_stock", Integer, nullable=False, server_default=text("0")),
    # An OSRM-style table API for road distances; none: great-circle times a detour factor.
    Column("routing_url", String(500)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # Searches that found no vehicle add this many trip starts each to a hotspot's forecast
    # (rebalancing.state.city_night); 0: the forecast is the trips alone.
    Column("unmet_demand_weight", Float, nullable=False, server_default=text("0")),
)

# Nearby searches that found no vehicle, counted per city, grid cell and UTC hour
# (rental.domain.unmet_demand): no rider, no exact position, no exact time.
unmet_searches = Table(
    "unmet_searches",
    metadata,
    Column("city_id", String(40), ForeignKey("cities.id"), nullable=False),
    Column("hour", DateTime(timezone=True), nullable=False),
    Column("cell_x", Integer, nullable=False),  # floor(lon / CELL_DEGREES)
    Column("cell_y", Integer, nullable=False),  # floor(lat / CELL_DEGREES)
    Column("searches", Integer, nullable=False),
    PrimaryKeyConstraint("city_id", "hour", "cell_x", "cell_y", name="unmet_searches_pkey"),
    # Retention forgets by hour across cities.
    Index("unmet_searches_by_hour", "hour"),
)

PLAN_UNDER_WAY = text("state IN ('queued', 'running')")
QUEUED_PLAN = text("state = 'queued'")

# Every run of the job, kept: a city's plans are numbered (its versions).
rebalancing_plans = Table(
    "rebalancing_plans",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("city_id", String(40), ForeignKey("cities.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),  # nightly, operator or command line
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("summary", JSONB),
    Column("error", Text),
    # The search as asked for (a queued plan waits with them for a planning worker); none:
    # the fleet's time limit, no seed, the solver's default solution limit.
    Column("time_limit_seconds", Float),
    Column("seed", Integer),
    Column("solution_limit", Integer),
    CheckConstraint(
        "state IN ('queued', 'running', 'ready', 'failed')", name="rebalancing_plans_state"
    ),
    UniqueConstraint("city_id", "version", name="rebalancing_plans_version"),
    # One run per city at a time, queued or running: a second one is refused, not queued.
    Index("rebalancing_one_run_per_city", "city_id", unique=True, postgresql_where=PLAN_UNDER_WAY),
    # Planning workers take the oldest queued plan.
    Index("rebalancing_plans_queued", "started_at", postgresql_where=QUEUED_PLAN),
)

rebalancing_stops = Table(
    "rebalancing_stops",
    metadata,
    Column("plan_id", UUID(as_uuid=True), ForeignKey("rebalancing_plans.id"), nullable=False),
    Column("truck", Integer, nullable=False),
    Column("seq", Integer, nullable=False),  # 1, 2, ... in driving order
    Column("site", Text, nullable=False),
    Column("position", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("bikes", Integer, nullable=False),  # > 0 picked up, < 0 dropped
    Column("asset_ids", ARRAY(UUID(as_uuid=True)), nullable=False),  # the bikes to pick up
    Column("metres_from_previous", Integer, nullable=False),
    Column("done_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("plan_id", "truck", "seq", name="rebalancing_stops_pkey"),
)

# A city's big GBFS feeds as last rendered, shared by every API worker and host
# (rental.adapters.shared_feeds). UNLOGGED: derived data, rendered again after a crash.
gbfs_feeds = Table(
    "gbfs_feeds",
    metadata,
    Column("city_id", String(40), primary_key=True),
    Column("feed", String(40), primary_key=True),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    Column("etag", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),  # the document, gzip-compressed
    prefixes=["UNLOGGED"],
)

# Each vehicle's part of its city's GBFS vehicle_status, kept between renders so that a
# render writes again only the vehicles changed since the last (rental.adapters.open_data).
# `body` is the vehicle's JSON object up to what depends on the time of the render;
# `fit` is `serviceable` but for the silence and damage, which the render judges.
vehicle_status_rows = Table(
    "vehicle_status_rows",
    metadata,
    Column("city_id", String(40), primary_key=True),  # a city's renders touch its own rows
    Column("asset_id", UUID(as_uuid=True), primary_key=True),
    Column("body", Text, nullable=False),
    Column("fit", Boolean, nullable=False),
    Column("last_seen_at", DateTime(timezone=True)),
    prefixes=["UNLOGGED"],
)

# The vehicles changed since their city's rows were last brought up to date: noted by
# statement triggers on `locks` and `assets` (migration 0030), whatever wrote them; a
# TRUNCATE of either forgets every city's build.
vehicle_status_changes = Table(
    "vehicle_status_changes",
    metadata,
    Column("city_id", String(40), primary_key=True),
    Column("asset_id", UUID(as_uuid=True), primary_key=True),
    # From a sequence, never seen twice: a render forgets only the notes it read.
    Column(
        "version",
        BigInteger,
        nullable=False,
        server_default=text("nextval('vehicle_status_change_versions')"),
    ),
    prefixes=["UNLOGGED"],
)

# A city whose rows are all built, and under which rules (kinds, battery threshold): none
# after a crash (the tables are UNLOGGED) or new rules, and the next render builds them all.
vehicle_status_builds = Table(
    "vehicle_status_builds",
    metadata,
    Column("city_id", String(40), primary_key=True),
    Column("rules", Text, nullable=False),
    prefixes=["UNLOGGED"],
)

# Each run of `python -m rental reconcile` (a provider's statement of a day against our
# orders and refunds) and the differences it found, for operators to settle by hand.
reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("gateway", String(24), nullable=False),
    Column("day", Date, nullable=False),  # a day of the provider's statement
    Column("ran_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("statement_lines", Integer, nullable=False),
    Column("differences", Integer, nullable=False),
    Index("reconciliation_runs_by_day", "gateway", text("day DESC")),
)

reconciliation_differences = Table(
    "reconciliation_differences",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column(
        "run_id",
        UUID(as_uuid=True),
        ForeignKey("reconciliation_runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(24), nullable=False),  # rental.domain.reconciliation.DifferenceKind
    Column("subject", String(8), nullable=False),  # "payment" or "refund"
    Column("reference", String(64), nullable=False),  # our order or refund id
    Column("trade_no", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("ours_minor", BigInteger),  # null: we have no such record
    Column("theirs_minor", BigInteger),  # null: not on the statement
    Column("ours_state", String(16)),
    Column("note", Text, nullable=False),
    Index("reconciliation_differences_by_run", "run_id"),
)

# The rider funnel (rental.services.funnel): a mark per app visit, step and reason on the
# city's day; an app's repeat is kept once. No rider, no position; kept FUNNEL_RETENTION_DAYS.
funnel_marks = Table(
    "funnel_marks",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("city_id", String(40), ForeignKey("cities.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("step", String(16), nullable=False),
    Column("reason", String(40), nullable=False, server_default=""),
    Column("visit_id", UUID(as_uuid=True)),
    Column("rental_id", UUID(as_uuid=True)),
    Index("funnel_marks_by_city_day", "city_id", "day"),
    Index("funnel_marks_by_day", "day", postgresql_using="brin"),
    Index(
        "funnel_marks_app_once",
        "visit_id",
        "city_id",
        "day",
        "step",
        "reason",
        unique=True,
        postgresql_where=text("visit_id IS NOT NULL AND rental_id IS NULL"),
    ),
    Index(
        "funnel_marks_scans",
        "rental_id",
        postgresql_where=text("rental_id IS NOT NULL AND step = 'scan'"),
    ),
)
