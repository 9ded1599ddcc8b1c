"""Demo local systems: a synthetic authority's social care, youth, school and health sources.

They look like the real systems (a Frameworki-like and a Raise-like database, school MIS CTF
files, a health/early-years SOAP service) and are dirty on purpose, because real sources are.
Every source draws from one synthetic population (:mod:`demo.population`), so the same child
appears in several sources, sometimes spelt differently, as in life.
"""
