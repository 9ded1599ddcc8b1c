"""The reference ContactPoint hub: the national side of LDI 1.0, for tests, demos and dry runs.

It behaves as ``shared/spec/ldi-v1.md`` sections 2, 4 and 5 say, reusing the contract package
(:mod:`ldi`: XSD, models, codec, rules, identifiers) so that hub and adapter can never disagree
about what is valid. Modules, one responsibility each:

    config        hub.yaml → typed models (register, TLS, store, misbehaviour, file drops)
    national      the national child record (also the seed-file line format)
    store         SQLAlchemy Core store: index, batches, outcomes, messages, contributions
    matching      section 5 name normalisation and matching steps 1-3
    processing    prepare (models, rules, keys) and decide per-record outcomes (Duplicate,
                  Rejected, Stale, Withdrawn, matching)
    worker        background mode: preparer and processor processes on the second core
    merge         one child's merged record from each source's contribution
    service       SubmitBatch / GetBatchOutcome semantics, independent of the transport
    soap          SOAP 1.1 envelopes and LDI-TRN-05 faults
    wsdl          the WSDL/XSD as served, pointing at the hub
    misbehaviour  deliberate, seeded faults for reliability tests
    server        the HTTPS server (mutual TLS), SOAP and admin endpoints
    files         the SFTP side: inbound/<batchId>.xml → outbound/<batchId>.outcome|fault.xml
    inspection    counts, work lists and the one-child view
    seed, synthetic  filling the index from a file or a reproducible generator
    cli           ``cpadapter hub serve|seed|status|files``

Why the standard library's ``http.server.ThreadingHTTPServer`` with ``ssl``, not uvicorn,
hypercorn or cheroot (see also docs/decisions.md):

* LDI-TRN-03 maps each request to the register by the SHA-256 of the client certificate's DER.
  The handler holds the ``SSLSocket`` itself, so ``getpeercert(binary_form=True)`` is one call.
  uvicorn and hypercorn do not expose the peer certificate to the application (the ASGI TLS
  extension is still an open pull request in uvicorn, an open issue in hypercorn); cheroot's
  WSGI environ carries parsed subject/issuer fields, not the DER we must hash.
* The lost-receipt case (TA-REL-02) needs the TCP connection dropped after the batch is
  committed and before any byte of the receipt is written; a time-out case needs a request held
  and then dropped. With the socket in hand that is ``shutdown(SHUT_RDWR)``; WSGI and ASGI give
  an application no sanctioned way to abort the connection instead of answering.
* Throughput: 5,000 records/s in 1,000-record batches is five requests a second; the cost is
  XML parsing, the XSD, models, rules, matching and the database, not the HTTP layer. One thread
  per connection is plenty, and it adds no dependency. Using both cores is done below the
  server, by background processing in worker processes (:mod:`hub.worker`); bench figures are
  in hub/README.md.
* TLS: ``ssl.SSLContext`` with ``CERT_REQUIRED`` refuses a client without a certificate, or with
  one from another CA, in the handshake (LDI-TRN-02), and ``minimum_version`` is TLS 1.2. The
  handshake runs on the connection's own thread, so a silent client cannot stall ``accept``.

What the hub does with a ``NoMatch`` or ``MultipleMatch`` record: it keeps the contribution,
*held*, and creates or links no national record (the stricter reading of section 5: "held for
the LA's data administrator"); the work lists show them. See hub/README.md for running it.
"""
