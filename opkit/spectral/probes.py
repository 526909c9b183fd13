"""Controlled experiments on spectral bias, per activation.

* :func:`frequency_probe`: Rahaman et al. (2019), "On the spectral bias of neural
  networks", section 2: an MLP fits ``f(z) = sum_i A_i sin(2 pi k_i z + phi_i)`` on
  ``z in [0, 1)`` with ``k_i = 5, 10, ..., 50``, and after every few iterations the
  learned fraction ``2 |FFT(f_net)(k_i)| / (N A_i)`` (1 = learned) is measured, averaged
  over repeats (new phases and a new initialisation each).
* :func:`operator_probe`: the same question for operators: inputs are band-limited random
  functions with equal amplitudes, the target operator is a fixed linear filter followed by
  a pointwise nonlinearity ``G(a) = L a + beta (L a)^2`` (whose output holds frequencies up
  to twice the input band), and the relative error per wavenumber is recorded while a
  small operator trains.
* :func:`initial_spectra`: the energy spectrum of untrained operators' outputs on
  band-limited inputs, averaged over initialisations ("Neural Redshift", Teney et al. 2024):
  how much high-frequency content each activation creates before training.

What an activation puts above an FNO's mode cutoff is measured in :mod:`opkit.spectral.aliasing`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from opkit.errors import ConfigError
from opkit.spectral.metrics import energy_spectrum

ModelFactory = Callable[[str], nn.Module]  # activation name -> operator (B, 1, n) -> (B, 1, n)


# --------------------------------------------------------------------------- helpers


def _check_positive(**values) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}: expected a positive integer, got {value!r}")


def _build_activation(name: str, num_channels: int) -> nn.Module:
    from opkit.activations import get_activation

    return get_activation(name, num_channels=num_channels)


def _activation_init(name: str):
    from opkit.activations import init_for

    return init_for(name) if isinstance(name, str) else None


def band_limited_functions(count: int, n_points: int, max_mode: int, generator: torch.Generator) -> torch.Tensor:
    """Random real functions with equal-amplitude modes ``1..max_mode``: ``(count, 1, n_points)``.

    ``a(x) = sum_{k=1}^{K} cos(2 pi k x + phi_k) / sqrt(K / 2)``, phases uniform; unit mean square.
    """
    phases = 2 * math.pi * torch.rand(count, 1, max_mode, generator=generator)
    spectrum = torch.zeros(count, 1, n_points // 2 + 1, dtype=torch.complex64)
    spectrum[..., 1 : max_mode + 1] = torch.polar(torch.ones_like(phases), phases) * (n_points / 2)
    return torch.fft.irfft(spectrum, n=n_points) / math.sqrt(max_mode / 2)


# --------------------------------------------------------------------------- Rahaman et al.


class ProbeMLP(nn.Module):
    """``z -> f(z)``: ``depth`` hidden layers of ``width`` units with one activation.

    Rahaman et al. used 6 layers of 256 ReLU units; the defaults here are smaller so the
    probe runs on a CPU in seconds per activation.
    """

    def __init__(self, activation: str, width: int = 128, depth: int = 4):
        super().__init__()
        sizes = [1] + [width] * depth
        layers: list[nn.Module] = []
        initialise = _activation_init(activation)
        for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = nn.Linear(fan_in, fan_out)
            if initialise is not None:
                initialise(linear, is_first=index == 0)
            layers += [linear, _build_activation(activation, fan_out)]
        layers.append(nn.Linear(width, 1))
        self.network = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z (N, 1) -> (N, 1)``."""
        return self.network(z)


@dataclass
class ProbeResult:
    """Per activation: ``values[name] (T, K)``, rows at ``iterations (T,)``, columns at ``frequencies (K,)``.

    ``values`` is the learned fraction (Rahaman) or the relative error power (operator probe),
    averaged over repeats; ``final_loss[name]`` the last training loss, averaged likewise.
    """

    iterations: np.ndarray
    frequencies: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    final_loss: dict[str, float] = field(default_factory=dict)
    quantity: str = "learned fraction"


@dataclass
class _Trial:
    """One model of a probe: its training loss (one step's batch), the row it records at the
    current parameters, and its final loss."""

    model: nn.Module
    train_loss: Callable[[], torch.Tensor]
    measure: Callable[[], np.ndarray]
    final_loss: Callable[[], float]


def _train_and_record(result: ProbeResult, activations: Sequence[str], trial: Callable[[str, int], _Trial],
                      iterations: int, record_every: int, repeats: int, learning_rate: float, description: str,
                      progress: bool) -> None:
    """Train one model per activation and repeat with Adam; fill ``result.values`` with the
    measured rows at iterations ``0, record_every, ...`` and ``result.final_loss``, averaged over repeats."""
    bar = tqdm(total=len(activations) * repeats * iterations, desc=description, disable=not progress)
    for name in activations:
        history = np.zeros((len(result.iterations), len(result.frequencies)))
        final_loss = 0.0
        for repeat in range(repeats):
            current = trial(name, repeat)
            optimiser = torch.optim.Adam(current.model.parameters(), lr=learning_rate)
            for step in range(iterations + 1):
                if step % record_every == 0:
                    with torch.no_grad():
                        history[step // record_every] += current.measure()
                if step == iterations:
                    break
                loss = current.train_loss()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                bar.update(1)
            with torch.no_grad():
                final_loss += current.final_loss()
        result.values[name] = history / repeats
        result.final_loss[name] = final_loss / repeats
    bar.close()


def learned_fraction(output: torch.Tensor, frequencies: Sequence[int], amplitudes: torch.Tensor) -> torch.Tensor:
    """``2 |FFT(f)(k_i)| / (N A_i)`` for samples ``output (N,)`` of f on ``z = j / N``: ``(K,)``."""
    spectrum = torch.fft.rfft(output)
    n_points = output.shape[-1]
    return 2 * spectrum[list(frequencies)].abs() / (n_points * amplitudes)


def frequency_probe(
    activations: Sequence[str],
    frequencies: Sequence[int] = tuple(range(5, 55, 5)),
    amplitudes: str | Sequence[float] = "equal",
    n_points: int = 200,
    iterations: int = 2000,
    record_every: int = 50,
    repeats: int = 2,
    width: int = 128,
    depth: int = 4,
    learning_rate: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
) -> ProbeResult:
    """Rahaman et al.'s experiment: iteration x frequency heatmap of the learned fraction.

    Args:
        frequencies: integer frequencies ``k_i`` (periods on ``[0, 1)``), below ``n_points / 2``.
        amplitudes: ``"equal"`` (all 1), ``"rising"`` (``A_i = 0.1 i``, as in the paper's
            second setting) or one value per frequency.
        iterations: full-batch Adam steps on the ``n_points`` samples (MSE loss).
    """
    _check_positive(n_points=n_points, iterations=iterations, record_every=record_every, repeats=repeats)
    frequencies = [int(k) for k in frequencies]
    if not frequencies or min(frequencies) < 1 or max(frequencies) >= n_points / 2:
        raise ConfigError(f"frequencies: expected integers in 1..{math.ceil(n_points / 2) - 1}, got {frequencies}")
    if amplitudes == "equal":
        amplitude = torch.ones(len(frequencies))
    elif amplitudes == "rising":
        amplitude = 0.1 * torch.arange(1, len(frequencies) + 1, dtype=torch.float32)
    else:
        amplitude = torch.as_tensor(amplitudes, dtype=torch.float32)
        if amplitude.shape != (len(frequencies),) or not bool((amplitude > 0).all()):
            raise ConfigError(f"amplitudes: expected 'equal', 'rising' or {len(frequencies)} positive numbers, got {amplitudes!r}")
    z = (torch.arange(n_points, dtype=torch.float32) / n_points)[:, None]
    k = torch.tensor(frequencies, dtype=torch.float32)

    def trial(name: str, repeat: int) -> _Trial:
        generator = torch.Generator().manual_seed(seed * 1000 + repeat)
        phases = 2 * math.pi * torch.rand(len(frequencies), generator=generator)
        target = (amplitude * torch.sin(2 * math.pi * k * z + phases)).sum(1, keepdim=True)
        torch.manual_seed(seed * 1000 + repeat)
        model = ProbeMLP(name, width, depth)
        return _Trial(model, train_loss=lambda: nn.functional.mse_loss(model(z), target),
                      measure=lambda: learned_fraction(model(z)[:, 0], frequencies, amplitude).numpy(),
                      final_loss=lambda: nn.functional.mse_loss(model(z), target).item())

    result = ProbeResult(np.arange(0, iterations + 1, record_every), np.array(frequencies))
    _train_and_record(result, activations, trial, iterations, record_every, repeats, learning_rate,
                      "frequency probe", progress)
    return result


# --------------------------------------------------------------------------- operators


class FilterNonlinearityOperator:
    """The probe's target operator ``G(a) = L a + beta (L a)^2`` on 1D periodic functions.

    ``L`` multiplies Fourier mode k by a fixed unit-modulus factor ``exp(i theta_k)`` (an
    all-pass filter with random phases, seeded), so an equal-amplitude input band stays
    equal-amplitude; the square then adds content up to twice the input band.
    """

    def __init__(self, n_points: int, beta: float = 0.5, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        theta = 2 * math.pi * torch.rand(n_points // 2 + 1, generator=generator)
        theta[0] = 0.0
        if n_points % 2 == 0:
            theta[-1] = 0.0  # the Nyquist mode must stay real
        self.multiplier = torch.polar(torch.ones_like(theta), theta)
        self.n_points = n_points
        self.beta = beta

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, 1, n) -> (B, 1, n)``."""
        filtered = torch.fft.irfft(torch.fft.rfft(inputs) * self.multiplier, n=self.n_points)
        return filtered + self.beta * filtered.square()


def default_fno_factory(n_modes: int = 16, width: int = 32, n_layers: int = 4, **model_kwargs) -> ModelFactory:
    """A factory of small 1D FNOs (``opkit.models.build_model("fno")``), one per activation name."""

    def build(activation: str) -> nn.Module:
        try:
            from opkit.models import build_model
        except ImportError as error:
            raise ConfigError(f"operator probes need opkit.models.build_model('fno'), which is not available: {error}")
        return build_model(
            "fno", in_channels=1, out_channels=1, width=width, n_modes=n_modes, n_layers=n_layers,
            spatial_dims=1, activation=activation, **model_kwargs,
        )

    return build


def operator_probe(
    activations: Sequence[str],
    model_factory: ModelFactory | None = None,
    n_points: int = 128,
    input_modes: int = 8,
    beta: float = 0.5,
    n_train: int = 64,
    n_test: int = 32,
    iterations: int = 300,
    record_every: int = 25,
    batch_size: int = 16,
    repeats: int = 1,
    learning_rate: float = 3e-3,
    seed: int = 0,
    progress: bool = True,
) -> ProbeResult:
    """Train an operator per activation on ``G(a) = L a + beta (L a)^2`` and record ``e(k)``.

    Returns a :class:`ProbeResult` whose values are the relative error power per wavenumber
    ``e(k)`` on the test inputs, ``k = 0 .. 2 * input_modes``, against iteration.
    """
    _check_positive(n_points=n_points, input_modes=input_modes, n_train=n_train, n_test=n_test,
                    iterations=iterations, record_every=record_every, batch_size=batch_size, repeats=repeats)
    if 2 * input_modes >= n_points // 2:
        raise ConfigError(f"input_modes: expected under n_points / 4 = {n_points / 4:g} so the target is resolved, got {input_modes}")
    model_factory = model_factory or default_fno_factory()
    operator = FilterNonlinearityOperator(n_points, beta, seed)
    generator = torch.Generator().manual_seed(seed)
    train_inputs = band_limited_functions(n_train, n_points, input_modes, generator)
    test_inputs = band_limited_functions(n_test, n_points, input_modes, generator)
    train_targets, test_targets = operator(train_inputs), operator(test_inputs)
    test_energy = energy_spectrum(test_targets).sum((0, 1))
    wavenumbers = np.arange(2 * input_modes + 1)

    def trial(name: str, repeat: int) -> _Trial:
        torch.manual_seed(seed * 1000 + repeat)
        model = model_factory(name)
        order = torch.Generator().manual_seed(seed * 1000 + repeat)

        def train_loss():
            batch = torch.randint(0, n_train, (batch_size,), generator=order)
            return nn.functional.mse_loss(model(train_inputs[batch]), train_targets[batch])

        def measure():
            error = energy_spectrum(model(test_inputs) - test_targets).sum((0, 1))
            return (error / test_energy)[: len(wavenumbers)].numpy()

        return _Trial(model, train_loss, measure,
                      final_loss=lambda: nn.functional.mse_loss(model(test_inputs), test_targets).item())

    result = ProbeResult(np.arange(0, iterations + 1, record_every), wavenumbers, quantity="relative error power e(k)")
    _train_and_record(result, activations, trial, iterations, record_every, repeats, learning_rate,
                      "operator probe", progress)
    return result


# --------------------------------------------------------------------------- untrained operators


@torch.no_grad()
def initial_spectra(
    activations: Sequence[str],
    model_factory: ModelFactory | None = None,
    n_points: int = 128,
    input_modes: int = 8,
    n_inputs: int = 16,
    n_inits: int = 4,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Energy spectrum of untrained operators' outputs on band-limited inputs, per activation.

    Each spectrum ``(n_points // 2 + 1,)`` is normalised to unit total energy (without the
    mean, k = 0) before averaging over ``n_inits`` initialisations, so the curves compare
    shapes: the energy beyond ``input_modes`` is content the network created.
    """
    _check_positive(n_points=n_points, input_modes=input_modes, n_inputs=n_inputs, n_inits=n_inits)
    model_factory = model_factory or default_fno_factory()
    inputs = band_limited_functions(n_inputs, n_points, input_modes, torch.Generator().manual_seed(seed))
    spectra = {}
    for name in activations:
        total = 0.0
        for init in range(n_inits):
            torch.manual_seed(seed * 1000 + init)
            model = model_factory(name).eval()
            spectrum = energy_spectrum(model(inputs)).mean((0, 1)).double()
            spectrum[0] = 0.0
            total = total + spectrum / spectrum.sum().clamp_min(1e-300)
        spectra[name] = (total / n_inits).numpy()
    return spectra


def high_frequency_fraction(spectrum: np.ndarray, cutoff: int) -> float:
    """Share of a (normalised) spectrum's energy in shells above ``cutoff``."""
    return float(spectrum[cutoff + 1 :].sum() / spectrum.sum())
