"""``code-diffusion bench``: latency, forward passes and quality of the sampler, measured.

One process and one run (:mod:`.benchmark`): the workloads (:mod:`.workloads`) are filled by
the engine directly with each sampler setting side by side (:mod:`.samplers`, :mod:`.fills`),
then through the language server over stdio (:mod:`.lsp`); the figures go to JSON, a Markdown
section of ``docs/benchmarks.md`` (:mod:`.report`) and PNG plots (:mod:`.plots`).
"""
