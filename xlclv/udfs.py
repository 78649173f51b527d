"""xlclv's Excel functions (xlwings UDFs).

Set ``UDF Modules`` to ``xlclv.udfs`` and click *Import Functions* on the xlwings ribbon (or
run ``xlclv install``). Every Python name here is the Excel name; all functions are in the
"xlclv" category of Excel's Function Wizard. The functions are thin: they convert Excel
values and call the pure core (``xlclv.metrics``, ``xlclv.models`` ...).
"""

from xlclv.excel.udf_metrics import *  # noqa: F403
from xlclv.excel.udf_metrics import __all__ as _metrics_all
from xlclv.excel.udf_models import *  # noqa: F403
from xlclv.excel.udf_models import __all__ as _models_all

__all__ = [*_metrics_all, *_models_all]
