"""JUnit XML of a run: one test case per check id, so CI systems show accreditation natively."""

from __future__ import annotations

from lxml import etree

from adapter.accreditation.results import Run, Status


def junit_xml(run: Run) -> bytes:
    """The run as a JUnit ``testsuites`` document.

    fail → ``failure``, error → ``error``, skip → ``skipped``, pass → its message as output.
    """
    counts = run.counts()
    suites = etree.Element("testsuites", name=f"cpadapter accredit {run.kind}")
    suite = etree.SubElement(
        suites,
        "testsuite",
        name=f"accreditation.{run.kind}",
        tests=str(len(run.results)),
        failures=str(counts[Status.FAIL.value]),
        errors=str(counts[Status.ERROR.value]),
        skipped=str(counts[Status.SKIP.value]),
        timestamp=run.started_at,
        time=f"{sum(r.seconds for r in run.results):.3f}",
    )
    for result in run.results:
        case = etree.SubElement(
            suite,
            "testcase",
            classname=f"accreditation.{run.kind}",
            name=result.check_id,
            time=f"{result.seconds:.3f}",
        )
        tag = {Status.FAIL: "failure", Status.ERROR: "error", Status.SKIP: "skipped"}.get(
            result.status
        )
        if tag is not None:
            etree.SubElement(case, tag, message=result.message).text = result.message
        else:
            etree.SubElement(case, "system-out").text = result.message
    return etree.tostring(suites, xml_declaration=True, encoding="UTF-8", pretty_print=True)
