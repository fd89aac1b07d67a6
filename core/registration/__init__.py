"""The registration database (登记库): its layout and how parcel records get into it.

- ``schema``: layers, fields and titles, indexes, style, layout version — what the database looks like.
- ``records``: the delivery staged as tables and every parcel's record defined over them (view RECV).
- ``bdcdyh``: 不动产单元号 — zoning, serials, allocation once and for ever.
- ``standard``: the right-holder records derived from the parcels.
- ``store``: the GeoPackage backend (create, one transaction, bulk load, spatial index) and, in its docstring, what
  a second backend (PostgreSQL/PostGIS) has to provide.
- ``digest``: the numpy digests folded into a record's content fingerprint.

``core.merge`` runs them in order (read its docstring first); ``core.classify`` computes the area classes."""
