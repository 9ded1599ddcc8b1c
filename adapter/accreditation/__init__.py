"""Type and instance accreditation (LDI 1.0 section 6): checks, requirement catalogue, evidence.

The checks are product code, not tests: an accreditation tester runs them with
``cpadapter accredit type|instance`` and hands over the evidence pack they produce.
"""
