"""spark-doks: validated stack config in, the Spark training platform out."""

import pulumi

from infra import program

for name, value in program.run().items():
    pulumi.export(name, value)
