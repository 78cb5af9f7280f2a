"""musicnn in Keras 3: pretrained music-tagging CNNs as audio features.

musicnn (Pons & Serra 2019, "musicnn: pre-trained convolutional neural networks for music audio tagging", ISMIR
late-breaking demo; ISC licence, Music Technology Group, Universitat Pompeu Fabra) was trained to tag 3-s log-mel
patches: MSD_musicnn on the Million Song Dataset's 50 most frequent Last.fm tags, MTT_musicnn on MagnaTagATune's 50.
Its penultimate layer (200-D) is a general-purpose embedding of what music sounds like; on real genre sets it clusters
far better than MFCC statistics (README, benchmarks/bench_quality.py).

The trained weights ship as TF1 checkpoints inside the PyPI package ``musicnn==0.1.0``, installed *without* its
dependencies (``pip install --no-deps musicnn==0.1.0``: its declared numpy<1.17/TF1 cannot install on Python 3.11).
This module never imports that package's code: it finds the checkpoint files through the package's installed-files
metadata, checks their sha256 against the values below, reads the variables by name, and rebuilds the network
(the package's ``models.build_musicnn``) as a Keras 3 functional model with batch norm in inference mode.

Input as musicnn's own extractor: 16 kHz mono, ``melspectrogram(n_fft=512, hop_length=256, n_mels=96)``,
``log10(10000 x + 1)``, non-overlapping patches of 187 frames (3 s).
Shapes: a patch batch is ``(n_patches, 187, 96)`` (time, mel); per track the features are the means over its patches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from ..datasets.download import file_hash
from ..errors import MusiclustError

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s at hop 256 / 16 kHz
PENULTIMATE_DIM = 200
POOL_DIM = 753  # front end (561) + three mid-end layers (64 each), max- and mean-pooled over time
INSTALL_COMMAND = "pip install --no-deps musicnn==0.1.0"
PACKAGE = "musicnn"

MSD_TAGS = (
    "rock,pop,alternative,indie,electronic,female vocalists,dance,00s,alternative rock,jazz,beautiful,metal,chillout,"
    "male vocalists,classic rock,soul,indie rock,Mellow,electronica,80s,folk,90s,chill,instrumental,punk,oldies,blues,"
    "hard rock,ambient,acoustic,experimental,female vocalist,guitar,Hip-Hop,70s,party,country,easy listening,sexy,"
    "catchy,funk,electro,heavy metal,Progressive rock,60s,rnb,indie pop,sad,House,happy"
).split(",")
MTT_TAGS = (
    "guitar,classical,slow,techno,strings,drums,electronic,rock,fast,piano,ambient,beat,violin,vocal,synth,female,"
    "indian,opera,male,singing,vocals,no vocals,harpsichord,loud,quiet,flute,woman,male vocal,no vocal,pop,soft,sitar,"
    "solo,man,classic,choir,voice,new age,dance,male voice,female vocal,beats,harp,cello,no voice,weird,country,metal,"
    "female voice,choral"
).split(",")


@dataclass(frozen=True)
class CheckpointSpec:
    """One trained model in the package: its folder, tag names, and the sha256 of its files."""

    name: str
    tags: tuple[str, ...]
    sha256: dict  # file name in the folder -> sha256


CHECKPOINTS = {
    "MSD_musicnn": CheckpointSpec(
        "MSD_musicnn",
        tuple(MSD_TAGS),
        {
            ".index": "87f3e0f3550c8d3bafc840374003e5c8af5eeb5ecf6add61af09a7822d3282c8",
            ".data-00000-of-00001": "8579734ee6388f799ed0def4bbd0d1fdcbeaf213ef2a9dc860917bd76a303de6",
            ".meta": "046dc0f4f95374c3fc435a1c6619f6d1b9c82794ea2d2ef0a362a59630b5b1ec",
        },
    ),
    "MTT_musicnn": CheckpointSpec(
        "MTT_musicnn",
        tuple(MTT_TAGS),
        {
            ".index": "da2d7bb670b2b31e9bc441bb1bd75eca31b5b061f963cc1f9630c1aff3238f57",
            ".data-00000-of-00001": "041f3935e981a65cea739842d30c188d3a7d2adf4410955c8668eb3de4a5acab",
            ".meta": "48f2b91a234a1feaaae6b084bd49668428cdfc54912805617582aa585daabb25",
        },
    ),
}
WEIGHT_FILES = (".index", ".data-00000-of-00001")  # what the Keras model reads; .meta only for the reference graph


class WeightsMissing(MusiclustError):
    """The musicnn checkpoint files are not installed (or do not match their checksums)."""


def _installed_package_dir() -> Path | None:
    """The installed ``musicnn`` folder, found from the distribution's file list (its code is never imported)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(PACKAGE)
    except PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.name == "__init__.py" and f.parent.name == PACKAGE:
            return Path(dist.locate_file(f)).parent
    return None


def checkpoint_dir(model: str = "MSD_musicnn", files: tuple[str, ...] = WEIGHT_FILES) -> Path:
    """The folder holding ``model``'s checkpoint, with ``files`` present and their sha256 verified.

    ``MUSICLUST_MUSICNN_DIR`` may name a folder holding ``<model>/`` (the same files) instead of the installed package.
    Raises `WeightsMissing` with the command that installs them.
    """
    if model not in CHECKPOINTS:
        raise MusiclustError(f"unknown musicnn model '{model}'; choose from {sorted(CHECKPOINTS)}")
    override = os.environ.get("MUSICLUST_MUSICNN_DIR")
    root = Path(override) if override else _installed_package_dir()
    if root is None:
        raise WeightsMissing(f"the musicnn weights are not installed: run `{INSTALL_COMMAND}`")
    return _verified_dir(model, files, str(root))


@cache
def _verified_dir(model: str, files: tuple[str, ...], root: str) -> Path:
    """Checked once per process and folder (hashing 9 MB takes about 20 ms)."""
    spec = CHECKPOINTS[model]
    folder = Path(root) / model
    for name in files:
        path = folder / name
        if not path.is_file():
            raise WeightsMissing(f"musicnn weights file {path} is missing: run `{INSTALL_COMMAND}`")
        if file_hash(path, "sha256") != spec.sha256[name]:
            raise WeightsMissing(
                f"musicnn weights file {path} does not match its sha256 (corrupt or another version): "
                f"run `pip install --force-reinstall --no-deps musicnn==0.1.0`"
            )
    return folder


def available(model: str = "MSD_musicnn") -> str | None:
    """None when ``model``'s weights are installed and verified, else the one-line reason (with the fix)."""
    try:
        checkpoint_dir(model)
    except MusiclustError as exc:
        return str(exc)
    return None


def read_checkpoint(model: str = "MSD_musicnn") -> dict[str, np.ndarray]:
    """Every trained variable of ``model``'s checkpoint by its TF1 name (``conv2d/kernel``, ...), Adam slots left out.

    The files are named ``.index`` and ``.data-...``: their prefix is the folder itself ("<dir>/"). (The package's
    ``checkpoint`` file names its author's own absolute path, so TF's checkpoint discovery must not be used.)
    """
    from ..logs import import_tensorflow

    tf = import_tensorflow()
    reader = tf.compat.v1.train.NewCheckpointReader(str(checkpoint_dir(model)) + os.sep)
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if "Adam" not in name and not name.startswith("beta1_power") and not name.startswith("beta2_power")
    }


# --- input ---------------------------------------------------------------------------------------------------------
def log_mel(y16: np.ndarray) -> np.ndarray:
    """musicnn's input representation of a 16 kHz mono waveform: ``(n_frames, 96)`` float32.

    librosa's mel spectrogram (power, n_fft 512, hop 256, 96 Slaney bands, centred frames), then
    ``log10(10000 x + 1)`` in float32. (musicnn's extractor first casts the spectrogram to float16, where ``10000 x``
    overflows to infinity for any bin above 6.55 -- loud passages of real clips reach it -- so that cast is not
    copied.)
    """
    import librosa

    S = librosa.feature.melspectrogram(y=y16, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS).T
    return np.log10(10000 * S.astype(np.float32) + 1)


def patches(rep: np.ndarray, n_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Non-overlapping patches ``(n_patches, n_frames, 96)`` of a ``(T, 96)`` log-mel, as musicnn's extractor cuts
    them (``input_overlap=False``): whole patches from the start, the remainder dropped. A clip shorter than one patch
    is repeat-padded to one patch (musicnn's training used ``pad_short: repeat-pad``)."""
    if rep.shape[0] < n_frames:
        reps = -(-n_frames // max(1, rep.shape[0]))
        rep = np.tile(rep, (reps, 1))[:n_frames]
    n = rep.shape[0] // n_frames
    return np.ascontiguousarray(rep[: n * n_frames].reshape(n, n_frames, rep.shape[1]))


# --- the network ---------------------------------------------------------------------------------------------------
def build_network(model: str = "MSD_musicnn", weights: dict[str, np.ndarray] | None = None):
    """The musicnn network (``models.build_musicnn`` of the package, 7774timbraltemporal front end, 64-filter mid end,
    200-unit back end) as a Keras 3 functional model with the checkpoint's weights.

    Input ``(batch, 187, 96)``; outputs a dict: ``penultimate`` ``(batch, 200)`` (the dense layer after its batch norm,
    musicnn's own "penultimate"), ``tags`` ``(batch, 50)`` (sigmoid), ``max_pool`` and ``mean_pool`` ``(batch, 753)``
    (the back end's temporal pools), ``front_end`` ``(batch, 187, 561)`` (the front end's features per frame, which the
    transfer ConvVAE encodes). Batch norm runs in inference mode (moving statistics); dropout is absent.
    """
    import_keras()
    import keras
    from keras import layers

    w = weights if weights is not None else read_checkpoint(model)
    n_tags = w["dense_1/kernel"].shape[1]

    def bn(name):
        # TF1 batch_normalization's default epsilon (1e-3) equals Keras's
        return layers.BatchNormalization(epsilon=1e-3, name=name)

    def pad_time(t, before, after, name):
        return layers.ZeroPadding2D(((before, after), (0, 0)), name=name)(t)

    def normalized_freq_max(t, norm, name):
        """BN(t) max-pooled over the frequency positions, ``(b, T, F, C) -> (b, T, C)``, computed as BN of the max
        (or of the min, for a channel whose BN scale is negative). Inference-mode BN is x * s_c + o_c per channel,
        monotone in x, so this is the same number (floating-point rounding is monotone too); it saves a pass over
        the front end's largest tensors (9 MB per patch for the 38-band filters), which bounded the speed."""
        bn_layer = bn(norm)
        high = bn_layer(layers.Lambda(lambda v: keras.ops.max(v, axis=2), name=f"{name}_high")(t))
        low = bn_layer(layers.Lambda(lambda v: keras.ops.min(v, axis=2), name=f"{name}_low")(t))
        return layers.Lambda(lambda hl: keras.ops.where(bn_layer.gamma >= 0, hl[0], hl[1]), name=name)([high, low])

    x = keras.Input(shape=(PATCH_FRAMES, N_MELS), name="logmel")
    h = layers.Reshape((PATCH_FRAMES, N_MELS, 1))(x)
    h = bn("batch_normalization")(h)
    # front end: timbral (tall filters over 40% and 70% of the mel bands) and temporal (long filters over time)
    padded = pad_time(h, 3, 3, "pad_timbral")
    front = []
    for i, (conv, norm, width) in enumerate(
        (("conv2d", "batch_normalization_1", 38), ("conv2d_1", "batch_normalization_2", 67))
    ):
        c = layers.Conv2D(204, (7, width), padding="valid", activation="relu", name=conv)(padded)
        front.append(normalized_freq_max(c, norm, f"timbral_max{i}"))
    for i, (conv, norm, length) in enumerate(
        (
            ("conv2d_2", "batch_normalization_3", 128),
            ("conv2d_3", "batch_normalization_4", 64),
            ("conv2d_4", "batch_normalization_5", 32),
        )
    ):
        # TF's "same" padding for an even kernel puts one more frame after than before (Keras's does the same)
        c = layers.Conv2D(51, (length, 1), padding="same", activation="relu", name=conv)(h)
        front.append(normalized_freq_max(c, norm, f"temporal_max{i}"))
    front = layers.Concatenate(axis=2, name="front_end")(front)  # (b, 187, 561)
    # mid end: three 7-frame convolutions over all channels, the last two with residual sums (Conv1D = the TF1
    # conv2d whose kernel spans every channel, applied to the features laid out as a one-channel image)
    mids = [front]
    prev = None
    for conv, norm in (
        ("conv2d_5", "batch_normalization_6"),
        ("conv2d_6", "batch_normalization_7"),
        ("conv2d_7", "batch_normalization_8"),
    ):
        inp = mids[-1]
        c = layers.Conv1D(64, 7, padding="valid", activation="relu", name=conv)(
            layers.ZeroPadding1D((3, 3), name=f"pad_{conv}")(inp)
        )
        c = bn(norm)(c)
        prev = c if prev is None else layers.Add(name=f"residual_{conv}")([c, prev])
        mids.append(prev)
    feats = layers.Concatenate(axis=2, name="mid_end")(mids)  # (b, 187, 753)
    max_pool = layers.Lambda(lambda v: keras.ops.max(v, axis=1), name="max_pool")(feats)
    mean_pool = layers.Lambda(lambda v: keras.ops.mean(v, axis=1), name="mean_pool")(feats)
    # TF1 flattens concat([max, mean], axis=2) of shape (b, 753, 2): the two pools interleave channel by channel
    pooled = layers.Reshape((2 * POOL_DIM,), name="interleaved_pools")(
        layers.Lambda(lambda v: keras.ops.stack(v, axis=-1), name="stack_pools")([max_pool, mean_pool])
    )
    pooled = bn("batch_normalization_9")(pooled)
    dense = layers.Dense(PENULTIMATE_DIM, activation="relu", name="dense")(pooled)
    penultimate = bn("batch_normalization_10")(dense)
    tags = layers.Dense(n_tags, activation="sigmoid", name="dense_1")(penultimate)
    net = keras.Model(
        x,
        {
            "penultimate": penultimate,
            "tags": tags,
            "max_pool": max_pool,
            "mean_pool": mean_pool,
            "front_end": front,  # (b, 187, 561): the timbral and temporal front end, per frame
        },
        name=model,
    )
    _load(net, w)
    return net


def _load(net, w: dict[str, np.ndarray]) -> None:
    """Assign the checkpoint's variables to the layers of the same name (every one must be used, and fit)."""
    used = set()
    for layer in net.layers:
        name = layer.name
        if f"{name}/kernel" in w:
            kernel = w[f"{name}/kernel"]
            if kernel.ndim == 4 and len(layer.weights[0].shape) == 3:  # mid end: [7, C, 1, 64] -> Conv1D [7, C, 64]
                kernel = kernel[:, :, 0, :]
            layer.set_weights([kernel, w[f"{name}/bias"]])
            used |= {f"{name}/kernel", f"{name}/bias"}
        elif f"{name}/gamma" in w:
            parts = ("gamma", "beta", "moving_mean", "moving_variance")
            layer.set_weights([w[f"{name}/{p}"] for p in parts])
            used |= {f"{name}/{p}" for p in parts}
    left = sorted(set(w) - used)
    if left:
        raise MusiclustError(f"musicnn checkpoint variables not placed in the Keras model: {left}")


def import_keras():
    from ..logs import import_tensorflow

    import_tensorflow()


@lru_cache(maxsize=4)
def network(model: str = "MSD_musicnn"):
    """The Keras network for ``model``, built once per process."""
    return build_network(model)


@lru_cache(maxsize=4)
def _compiled_forward(model: str = "MSD_musicnn"):
    """The network's inference as one TensorFlow graph for any batch size (traced once per process). Called eagerly,
    each layer ran as its own op and wrote its whole output (the timbral front end's are megabytes per patch) before
    the next read it; in a graph, TensorFlow fuses each convolution with its bias and ReLU: 1.4x faster on one core,
    the same numbers to 1e-6."""
    from ..logs import import_tensorflow

    tf = import_tensorflow()
    net = network(model)
    return tf.function(
        lambda v: net(v, training=False),
        input_signature=[tf.TensorSpec((None, PATCH_FRAMES, N_MELS), tf.float32)],
    )


def embed_patches(patch_batch: np.ndarray, model: str = "MSD_musicnn", batch_size: int = 16) -> dict[str, np.ndarray]:
    """Run ``(n, 187, 96)`` patches through the network: ``{penultimate, tags, max_pool, mean_pool, front_end}`` per
    patch. 16 patches a call: the timbral front end's activations are about 25 MB per patch, so 64 patches a call held
    5.5 GB per worker process for 4% more speed (32: 3.3 GB; 16: 2.3 GB, the TensorFlow runtime included)."""
    forward = _compiled_forward(model)
    outs: dict[str, list] = {}
    for start in range(0, len(patch_batch), batch_size):
        part = forward(np.asarray(patch_batch[start : start + batch_size], dtype=np.float32))
        for k, v in part.items():
            outs.setdefault(k, []).append(np.asarray(v))
    return {k: np.concatenate(v) for k, v in outs.items()}


def track_features(per_patch: dict[str, np.ndarray], counts: list[int]) -> list[dict[str, np.ndarray]]:
    """Per track, the mean over its patches of each vector output (``counts``: patches per track, in order)."""
    out, start = [], 0
    for n in counts:
        out.append({k: v[start : start + n].mean(axis=0) for k, v in per_patch.items() if v.ndim == 2})
        start += n
    return out


FRAME_POOL = 4  # the transfer ConvVAE's step: 4 musicnn frames (64 ms), as the from-scratch ConvVAE's latent step
SEQUENCE_PATCHES = 10  # 30 s of a track, as the log-mel the from-scratch ConvVAE sees
STEPS_PER_PATCH = PATCH_FRAMES // FRAME_POOL  # 46 steps = 184 of a patch's 187 frames
FRONT_END_DIM = 561


def frame_sequences(front_end: np.ndarray, logmel_patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One track's sequences for the transfer ConvVAE, from its patches' front-end features ``(p, 187, 561)`` and the
    patches themselves ``(p, 187, 96)``: the front end max-pooled over 4 frames ``(561, 460)`` and the log-mel frames
    they cover ``(96, 1840)``, over the first 10 patches (30 s) of the track; a shorter track is padded with zeros
    (silence in log10(10000 x + 1), and constant, so the crops skip it)."""
    p = min(len(front_end), SEQUENCE_PATCHES)
    used = STEPS_PER_PATCH * FRAME_POOL
    pooled = front_end[:p, :used].reshape(p, STEPS_PER_PATCH, FRAME_POOL, -1).max(axis=2).reshape(-1, FRONT_END_DIM)
    frames = logmel_patches[:p, :used].reshape(-1, N_MELS)
    seq = np.zeros((FRONT_END_DIM, SEQUENCE_PATCHES * STEPS_PER_PATCH), np.float32)
    mel = np.zeros((N_MELS, SEQUENCE_PATCHES * used), np.float32)
    seq[:, : len(pooled)] = pooled.T
    mel[:, : len(frames)] = frames.T
    return seq, mel


# --- the original graph, as a reference (tests and benchmarks) ------------------------------------------------------
REFERENCE_OUTPUTS = {
    "max_pool": "model/Max",
    "mean_pool": "model/moments/Squeeze",
    "dense": "model/dense/Relu",
    "penultimate": "model/batch_normalization_10/batchnorm/add_1",
    "tags": "model/Sigmoid",
}


class ReferenceGraph:
    """musicnn's own TF1 graph, from the checkpoint's ``.meta``, with its variables frozen to the checkpoint's values,
    run in a graph-mode session (none of the package's code). ``run(patches)`` -> the outputs of `REFERENCE_OUTPUTS`.
    """

    def __init__(self, model: str = "MSD_musicnn"):
        from ..logs import import_tensorflow

        tf = import_tensorflow()
        folder = checkpoint_dir(model, (*WEIGHT_FILES, ".meta"))
        meta = tf.compat.v1.MetaGraphDef()
        meta.ParseFromString((folder / ".meta").read_bytes())
        names = set(REFERENCE_OUTPUTS.values())
        graph_nodes = {n.name for n in meta.graph_def.node}
        if REFERENCE_OUTPUTS["penultimate"] not in graph_nodes:  # the batch-normed dense layer's last op
            raise MusiclustError("the musicnn graph has no batch_normalization_10 output node")
        gd = tf.compat.v1.graph_util.extract_sub_graph(meta.graph_def, sorted(names))
        values = read_checkpoint(model)
        frozen = tf.compat.v1.GraphDef()
        for node in gd.node:
            if "_output_shapes" in node.attr:
                del node.attr["_output_shapes"]
            if node.op in ("VariableV2", "Variable"):
                const = frozen.node.add()
                const.name, const.op = node.name, "Const"
                const.attr["dtype"].type = node.attr["dtype"].type
                const.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(values[node.name]))
            else:
                new = frozen.node.add()
                new.CopyFrom(node)
                if node.op.startswith("Random"):
                    # dropout's random ops (never run in inference) get a fixed seed, so the graph also loads where
                    # TensorFlow's op determinism is on (it refuses unseeded random ops)
                    new.attr["seed"].i, new.attr["seed2"].i = 1, 1
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(frozen, name="")
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.x = self.graph.get_tensor_by_name("model/Placeholder:0")
        self.training = self.graph.get_tensor_by_name("model/Placeholder_2:0")
        self.outputs = {k: self.graph.get_tensor_by_name(f"{v}:0") for k, v in REFERENCE_OUTPUTS.items()}

    def run(self, patch_batch: np.ndarray) -> dict[str, np.ndarray]:
        out = self.session.run(self.outputs, {self.x: np.asarray(patch_batch, np.float32), self.training: False})
        return {k: (v[..., 0] if v.ndim == 3 else v) for k, v in out.items()}
