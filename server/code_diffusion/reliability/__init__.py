"""Reliability measurements of the language server: typing storm, long session, fuzzing, exits.

``python -m code_diffusion.reliability storm|session|fuzz|exits`` drives a real server process
over stdio and prints the figures that ``docs/reliability.md`` reports. The storm and the long
session run the *probed* server (:mod:`code_diffusion.reliability.probe`): the normal server
with every feature and the real model, plus read-only counters the client can ask for.
"""
