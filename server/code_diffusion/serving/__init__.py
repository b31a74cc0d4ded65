"""The engine served over HTTP: the OpenAI completions shape, batched across requests.

``batch`` fills several requests in one forward pass per step; ``protocol`` reads and writes the
completions JSON; ``app`` is the Ray Serve application behind ``code-diffusion serve-ray``
(``pip install code-diffusion[ray]``); ``bench`` measures it.
"""
