"""Exit codes of every ``cpadapter`` command: scripts and schedulers rely on them."""

EXIT_OK = 0  # done, nothing to report
EXIT_FINDINGS = 1  # ran, and found problems (breaches, failed checks, invalid config)
EXIT_UNUSABLE = 2  # usage error, or input that cannot be used at all
