"""Domain logic of Land Contract Bridge. Plain Python: GDAL/OGR, shapely 2, pyproj, sqlite, jinja2.

Nothing in this package imports qgis or Qt, so it can be used from any script and tested quickly.
"""
