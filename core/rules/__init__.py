"""The rule catalogue: importing this package registers every rule (core.issues.REGISTRY)."""
from . import area, codes_rules, dates, encoding_rules, geometry, members, package, reference, schema_rules  # noqa: F401
from . import formats, keys, summary  # noqa: F401
from . import integrity  # noqa: F401,E402 - last: its rule folds issues that only restate an integrity condition
