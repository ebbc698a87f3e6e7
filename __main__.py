"""spark-doks: validated stack config in, the Spark training platform out."""

import pulumi

from infra import program
from infra.settings import SettingsError

try:
    outputs = program.run()
except SettingsError as error:
    # RunError ends `pulumi up` with just the message: one line per bad key, no traceback.
    raise pulumi.RunError(str(error)) from None

for name, value in outputs.items():
    pulumi.export(name, value)
