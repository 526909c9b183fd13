"""Neural operators and the model registry.

    from opkit.models import build_model, list_models, count_parameters
    model = build_model("fno", in_channels=1, out_channels=1, width=32, n_modes=[12, 12])

Names: see ``list_models()`` (fno, kano, kano_s, linear_fourier, linear_full, mgno).
"""

from opkit.models.common import count_parameters
from opkit.models.fno import FNO
from opkit.models.kano import KANO, KANOSelectable, width_for_parameters
from opkit.models.linear_fourier import LinearFourier, LinearFull
from opkit.models.mgno import MgNO
from opkit.models.registry import build_model, describe_models, list_models, register_model

register_model("fno", "Fourier Neural Operator (Li et al. 2021), 1D/2D/3D")(FNO)
register_model("kano", "Fourier operator with KAN pointwise paths (learnable edge activations)")(KANO)
register_model("kano_s", "KANO whose KAN nodes select among basis spaces (S-KAN style)")(KANOSelectable)
register_model("linear_fourier", "Closed-form linear baseline: ridge least squares per Fourier mode "
               "(no gradient descent)")(LinearFourier)
register_model("linear_full", "Closed-form linear baseline on one small grid: the dense least-squares map "
               "over points and channels")(LinearFull)
register_model("mgno", "Multigrid Neural Operator (He, Liu and Xu 2024), 1D/2D, any grid size")(MgNO)

__all__ = ["FNO", "KANO", "KANOSelectable", "LinearFourier", "LinearFull", "MgNO", "width_for_parameters", "build_model", "count_parameters", "describe_models", "list_models", "register_model"]
