"""Open-loop HTTP load generator for the serving platform (``orchestrator load-test``).

Modules, each with one job:
- :mod:`schedule`  intended send times (constant or seeded Poisson arrivals)
- :mod:`client`    a lean HTTP/1.1 keep-alive client over asyncio protocols (httptools parser)
- :mod:`recorder`  HDR histograms of every sample: overall, per variant, per case, per second
- :mod:`engine`    the open-loop (and, for comparison, closed-loop) driver
- :mod:`progress`  the live progress line
- :mod:`report`    summary.json, report.html and its PNG figures
- :mod:`capacity`  find-max (step up, bisect) and cost per 1,000 inferences
- :mod:`targets`   where to send (API URL + key from SSM, or the SageMaker runtime, SigV4-signed)
- :mod:`cases`     request bodies and expected responses
- :mod:`tester`    the original serverless tester: trigger message and CloudWatch metrics
"""
