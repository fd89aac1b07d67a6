from ..issues import rule


@rule("encoding.garbled", "encoding", "error", "{layer} 中有 {value} 个文字值无法按 {detail} 解码（乱码）",
      "Text that does not decode in the declared/detected encoding (U+FFFD replacement characters).")
def garbled(ctx):
    for prefix in list(ctx.ws.d.vectors):
        lyr = ctx.ws.layer(prefix)
        if lyr is not None and lyr.garbled and lyr.paths:
            ctx.issue("encoding.garbled", ctx.ws.d.rel(lyr.paths[0]), "", lyr.garbled, layer=prefix, detail=lyr.encoding)
