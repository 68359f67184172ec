"""Import every model module so metadata (and Alembic's autogenerate) sees all tables."""


def import_all() -> None:
    import portal.accounts.models  # noqa: F401
    import portal.agency.models  # noqa: F401
    import portal.api.models  # noqa: F401
    import portal.cases.models  # noqa: F401
    import portal.casework.notes  # noqa: F401
    import portal.contact.models  # noqa: F401
    import portal.dashboard.models  # noqa: F401
    import portal.disputes.models  # noqa: F401
    import portal.identity.audit  # noqa: F401
    import portal.identity.enrolment  # noqa: F401
    import portal.identity.helpers  # noqa: F401
    import portal.identity.models  # noqa: F401
    import portal.intake.models  # noqa: F401
    import portal.jobs.heartbeat  # noqa: F401
    import portal.lenders.models  # noqa: F401
    import portal.messaging.models  # noqa: F401
    import portal.notices.models  # noqa: F401
    import portal.outbox.models  # noqa: F401
    import portal.payments.models  # noqa: F401
    import portal.placements.models  # noqa: F401
    import portal.plans.models  # noqa: F401
    import portal.reconcile.models  # noqa: F401
    import portal.rights.models  # noqa: F401
