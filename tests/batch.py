"""Filling QGIS's batch-processing panel row by row, as its own "open" does (tests/qgis)."""


def fill_batch(panel, rows, context):
    """Rows of {parameter: value} into `panel` (a BatchPanel); extra rows removed. Output parameters have no
    wrapper in 3.22: their cell widget takes the value."""
    for r, values in enumerate(rows):
        while panel.batchRowCount() <= r:
            panel.addRow()
        for name, v in values.items():
            col = panel.parameter_to_column[name]
            w = panel.wrappers[r][col]
            if w is None:
                panel.tblParameters.cellWidget(r + 1, col).setValue(str(v))
            else:
                w.setParameterValue(v, context)
    while panel.batchRowCount() > len(rows):
        panel.tblParameters.removeRow(panel.batchRowCount())
        panel.wrappers.pop()
