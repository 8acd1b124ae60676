from infscale.cli import run_logged
from infscale.model import convert_gguf

src = snakemake.params.source
run_logged(snakemake.log[0], convert_gguf, src["gguf"], snakemake.output[0], src.get("sha256"))
