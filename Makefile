# Shortcuts for machines that have make; each target is one plain python3 command.
.PHONY: run test bench infra-check
run:
	python3 dev/run.py
test:
	python3 dev/test.py
bench:
	python3 -m dev.bench
infra-check:
	python3 dev/infra_check.py
