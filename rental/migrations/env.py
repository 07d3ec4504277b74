"""Alembic environment: migrates the database named by the URL the CLI passes in."""

from alembic import context
from sqlalchemy import create_engine

from rental.adapters.tables import metadata

url = context.config.get_main_option("sqlalchemy.url")
assert url, "run migrations through `python -m rental db upgrade`"


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # PostGIS and its tiger geocoder bring tables of their own: not ours to manage.
    return not (type_ == "table" and reflected and compare_to is None)


engine = create_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection, target_metadata=metadata, include_object=include_object
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
