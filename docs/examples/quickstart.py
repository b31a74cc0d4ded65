"""Fill a hole with the embedded model: ``python docs/examples/quickstart.py``."""
from code_diffusion import CodeGenerator, load_model

generator = CodeGenerator(load_model())  # the embedded model; a directory path loads another
code = "def mean(values):\n    total = sum(values)\n    return \n"
cursor = code.index("return ") + len("return ")  # the hole: an insertion at the cursor
result = generator.fill(code, cursor, num_samples=1, require_passing=False)
print(code[:cursor] + result.candidates[0].text + code[cursor:])
