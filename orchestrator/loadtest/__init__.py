"""Open-loop HTTP load generator for the serving platform (``orchestrator load-test``).

Modules, each with one job:
- :mod:`run`       the ``load-test`` verb's pipeline (imported only when the verb runs)
- :mod:`schedule`  intended send times (constant or seeded Poisson arrivals)
- :mod:`wire`      plain request data: URL, pre-rendered request bytes, the Target
- :mod:`client`    a lean HTTP/1.1 keep-alive client over asyncio protocols (httptools parser)
- :mod:`recorder`  HDR histograms of every sample: overall, per variant, per case, per second
- :mod:`engine`    the open-loop (and, for comparison, closed-loop) driver
- :mod:`progress`  the live progress line
- :mod:`summary`   the figures of a run as plain data (summary.json) and the printed table
- :mod:`report`    summary.json, report.html and its PNG figures
- :mod:`capacity`  find-max (step up, bisect) and cost per 1,000 inferences
- :mod:`targets`   where to send (API URL + key from SSM, or the SageMaker runtime, SigV4-signed)
- :mod:`cases`     request bodies and expected responses
- :mod:`tester`    the original serverless tester: trigger message and CloudWatch metrics
- :mod:`fakeserver` a minimal fast HTTP server (fixed, stall, serial, hang) for tests and benchmarks
"""
