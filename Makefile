# Convenience targets; the README's two commands need none of them.
.PHONY: demo test package translations docs bench lint
demo:
	scripts/demo
test:
	scripts/test
package:
	scripts/package
translations:
	/usr/bin/python3 scripts/i18n
docs:
	. scripts/env.sh && $$LCB_PY scripts/make-docs
bench:
	benchmarks/run
lint:
	.lcb/venv/bin/ruff check .
