"""The autoencoder family: analytic checks, shapes, training, persistence, determinism and bad input."""

import numpy as np
import pytest

from musiclust.errors import MusiclustError
from musiclust.models import MODELS, LatentModel

FAST = dict(
    latent_dim=4,
    hidden=(32, 16),
    epochs=8,
    batch_size=16,
    patience=50,
    kl_warmup_epochs=2,
    pretrain_epochs=5,
    n_components=3,
)


def blobs(n_per=40, d=12, k=3, sep=6.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * sep
    X = np.vstack([c + rng.normal(size=(n_per, d)) for c in centres])
    y = np.repeat(np.arange(k), n_per)
    X = (X - X.mean(0)) / X.std(0)
    return X.astype(np.float32), y


def test_kl_of_the_prior_against_itself_is_zero():
    from keras import ops

    from musiclust.models.vae import gaussian_kl

    kl = gaussian_kl(ops.zeros((5, 3)), ops.zeros((5, 3)))
    np.testing.assert_allclose(np.asarray(kl), 0.0, atol=1e-7)
    # and it is positive away from the prior: KL(N(1, 1) || N(0, 1)) = 0.5 per dimension
    np.testing.assert_allclose(np.asarray(gaussian_kl(ops.ones((1, 3)), ops.zeros((1, 3)))), [1.5], rtol=1e-6)


@pytest.mark.parametrize("name", ["ae", "vae", "beta_vae", "cvae", "gmmvae", "multimodal"])
def test_dense_models_shapes_and_history(name):
    X, y = blobs()
    kw = {}
    if name == "cvae":
        kw["condition"] = np.where(y == 0, "en", "bn")
    if name == "multimodal":
        L = np.random.default_rng(1).normal(size=(len(X), 6)).astype(np.float32)
        mask = np.arange(len(X)) % 3 != 0  # a third of the tracks are instrumental
        L[~mask] = 0
        kw.update(lyrics=L, lyrics_mask=mask)
    m = LatentModel(name, seed=0, **FAST).fit(X, **kw)
    Z = m.encode(X, **kw)
    assert Z.shape == (len(X), 4) and np.isfinite(Z).all()
    assert m.reconstruct(X, **kw).shape == X.shape
    assert {"reconstruction_loss", "kl_loss", "val_loss"} <= set(m.history_)
    if name == "ae":
        assert max(m.history_["kl_loss"]) == 0.0


@pytest.mark.parametrize("streamed", [False, True])
def test_convvae_on_patches_including_a_memory_map(tmp_path, monkeypatch, streamed):
    from musiclust.models import base

    if streamed:  # force the larger-than-memory path: batches read from the memory map
        monkeypatch.setattr(base, "IN_MEMORY_BYTES", 0)
    rng = np.random.default_rng(0)
    P = rng.normal(size=(40, 32, 32)).astype(np.float32) - 40.0
    path = tmp_path / "patches.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=P.shape)
    mm[:] = P
    mm.flush()
    P_map = np.load(path, mmap_mode="r")
    m = LatentModel("convvae", seed=0, **FAST).fit(P_map)
    assert m.encode(P_map).shape == (40, 4)
    rec = m.reconstruct(P_map[:5])
    assert rec.shape == (5, 32, 32)
    assert abs(rec.mean() - P.mean()) < 5  # decoded back to the data's own scale


def test_convvae_crops_and_the_track_mean_encoding():
    from musiclust.models.data import CropBatches

    rng = np.random.default_rng(0)
    clips = (rng.normal(size=(12, 32, 96)) - 40).astype(np.float32)
    batches = CropBatches(clips, np.arange(10), crop=32, crops_per_track=10, batch_size=16, mean=-40.0, std=1.0, seed=0)
    assert len(batches.pairs) == 100 and np.bincount(batches.pairs[:, 0]).tolist() == [10] * 10
    assert batches.pairs[:, 1].max() <= 96 - 32 and len(np.unique(batches.pairs[:, 1])) > 10  # random offsets
    (first,) = batches[0]
    assert first["audio"].shape == (16, 32, 32)
    before = batches.pairs.copy()
    batches.on_epoch_end()
    assert not np.array_equal(before, batches.pairs)  # new crops every epoch
    m = LatentModel("convvae", seed=0, crop_frames=32, crops_per_track=10, **FAST).fit(clips)
    Z = m.encode(clips)
    assert Z.shape == (12, 4)
    # a track's latent is the mean of the latent means of its three non-overlapping 32-frame crops
    per_crop = [m.encode(np.ascontiguousarray(clips[:, :, o : o + 32])) for o in (0, 32, 64)]
    np.testing.assert_allclose(Z, np.mean(per_crop, axis=0), rtol=1e-4, atol=1e-5)
    assert m.reconstruct(clips[:2, :, :32]).shape == (2, 32, 32)
    # the latent is a sequence in time, one vector per 4 frames: changing step 4 of 8 changes only the frames near 16
    seq = m._crop_latents(clips[:1, :, :32]).reshape(1, -1)
    moved = seq.reshape(1, 8, 4).copy()
    moved[0, 4] += 3.0
    change = np.abs(m.decode(moved.reshape(1, -1))["audio"] - m.decode(seq)["audio"])[0].max(axis=0)  # per frame
    assert change[12:24].max() > 0 and np.all(change[:8] == 0) and np.all(change[28:] == 0)
    with pytest.raises(MusiclustError, match="at least 32 frames"):
        m.encode(clips[:, :, :16])


@pytest.mark.slow
def test_convvae_reconstructs_real_crops_and_the_calibrated_likelihood_lowers_the_error(shared_data):
    """The old ConvVAE (one latent vector per patch) reconstructed a blurred spectral envelope without onsets. On 3-s
    crops of real songs it never trained on, the latent-sequence ConvVAE must do much better than the mean spectrum
    and keep the onsets, and the calibrated decoder (sigma-VAE) must beat a unit variance, which under-weights the
    reconstruction against the KL term on standardized log-mel and so loses detail."""
    from musiclust.features import audio

    songs = sorted((shared_data / "hybrid_songs" / "audio").glob("*.mp3"))[:48]
    if len(songs) < 48:
        pytest.skip("hybrid_songs audio is not present")
    S = np.stack(
        [audio.logmel_full(audio.ClipSpectra(audio.decode(str(p), max_seconds=12)[0]), seconds=12) for p in songs]
    )  # (48, 128, 517)
    train, held_out = S[:40], np.ascontiguousarray(S[40:, :, 200:328])
    mean_spectrum = train.mean(axis=(0, 2), keepdims=True)
    baseline = float(np.mean((held_out - mean_spectrum) ** 2))
    from musiclust.reconstruction_metrics import onset_correlation

    errors = {}
    for likelihood in ("calibrated", "unit"):
        m = LatentModel(
            "convvae",
            latent_dim=16,
            epochs=25,
            batch_size=32,
            patience=50,
            kl_warmup_epochs=3,
            likelihood=likelihood,
            seed=0,
        ).fit(train)
        rec = m.reconstruct(held_out)
        errors[likelihood] = float(np.mean((rec - held_out) ** 2))
        if likelihood == "calibrated":
            # the onsets come back where they were (one latent vector per 3-s crop gave a correlation of about 0)
            onsets = onset_correlation(held_out, rec)
            assert np.median(onsets) > 0.6, onsets
    assert errors["calibrated"] < 0.5 * baseline, (errors, baseline)
    assert errors["calibrated"] < 0.9 * errors["unit"], errors


def test_a_few_epochs_lower_the_loss_on_real_features(shared_data):
    import pandas as pd

    df = pd.read_csv(shared_data / "gtzan" / "features_30_sec.csv").iloc[:300]
    X = df.drop(columns=["filename", "label", "length"]).to_numpy(float)
    X = (X - X.mean(0)) / X.std(0)
    m = LatentModel("vae", latent_dim=8, epochs=10, batch_size=32, patience=50, kl_warmup_epochs=0).fit(X)
    loss = m.history_["loss"]
    assert loss[-1] < 0.8 * loss[0]


def test_save_load_round_trip_gives_identical_encodings(tmp_path):
    X, y = blobs()
    cond = np.where(y == 1, "de", "it")
    for name in ("cvae", "gmmvae"):
        m = LatentModel(name, seed=3, **FAST).fit(X, condition=cond)
        path = m.save(tmp_path / name)
        again = LatentModel.load(path)
        np.testing.assert_array_equal(again.encode(X, condition=cond), m.encode(X, condition=cond))
        if name == "gmmvae":
            np.testing.assert_array_equal(again.predict_clusters(X), m.predict_clusters(X))


def test_same_seed_same_encodings_other_seed_differs():
    X, _ = blobs()
    a = LatentModel("vae", seed=7, **FAST).fit(X).encode(X)
    b = LatentModel("vae", seed=7, **FAST).fit(X).encode(X)
    c = LatentModel("vae", seed=8, **FAST).fit(X).encode(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("name", ["vae", "gmmvae", "multimodal", "convvae"])
def test_a_shared_trainer_trains_exactly_the_weights_of_a_model_compiled_for_its_fit(name, monkeypatch):
    """Fits of one network share a compiled trainer in a process (models.trainers): the same weights, bit for bit, as
    the model compiled and fitted on its own -- the sampling noise, the KL warm-up, early stopping, VaDE's two phases
    and the ConvVAE's shuffled crop batches included -- whether the trainer is new (first fit) or reused."""
    import keras

    from musiclust.models import trainers

    X, y = blobs()
    kw = {}
    if name == "multimodal":
        L = np.random.default_rng(1).normal(size=(len(X), 6)).astype(np.float32)
        kw = {"lyrics": L, "lyrics_mask": np.arange(len(X)) % 3 != 0}
    if name == "convvae":
        X = np.random.default_rng(2).normal(size=(24, 16, 64)).astype(np.float32)

    def weights(seed):
        params = dict(FAST, crop_frames=32, crops_per_track=2) if name == "convvae" else FAST
        return LatentModel(name, seed=seed, **params).fit(X, **kw).model_.get_weights()

    trainers.clear()
    first = weights(4)
    used = dict(trainers._TRAINERS)
    second = weights(5)  # the trainer (VaDE: the trainers of its two phases) of the first fit, again
    assert used and dict(trainers._TRAINERS) == used  # reused, not rebuilt
    with monkeypatch.context() as m:  # without trainers: the model itself, compiled for this fit

        def compiled_for_this_fit(model, learning_rate, fit):
            model.compile(optimizer=keras.optimizers.Adam(learning_rate))
            return fit(model)

        m.setattr(trainers, "fit_with_trainer", compiled_for_this_fit)
        alone = {seed: weights(seed) for seed in (4, 5)}
    for got, want in ((first, alone[4]), (second, alone[5])):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, second))  # and the seeds differ


def test_a_fitted_model_keeps_its_weights_when_the_trainer_trains_another():
    X, _ = blobs()
    a = LatentModel("ae", seed=1, **FAST).fit(X)
    before = a.encode(X)
    LatentModel("ae", seed=2, **FAST).fit(X)  # the same network: the same trainer
    np.testing.assert_array_equal(a.encode(X), before)


def test_the_trainer_key_follows_the_graph_not_the_seed_or_keras_numbering():
    from musiclust.models import trainers

    X, _ = blobs()

    def key(name, seed=0, lr=1e-3, **kw):
        m = LatentModel(name, seed=seed, **{**FAST, **kw})
        return trainers.network_key(m._build(m._inputs(X, fitting=True)), lr)

    assert key("vae", 0) == key("vae", 1)  # built twice: other layer numbers (flatten_3 ...), the same graph
    assert key("ae") == key("dec") == key("idec")  # DEC and IDEC pretrain the AE's network
    assert key("vae") != key("beta_vae")  # beta is a constant of the graph
    assert key("vae") != key("vae", hidden=(32, 8))
    assert key("vae") != key("vae", lr=1e-4)
    assert key("vae") != key("ae")


def test_gmmvae_recovers_well_separated_blobs():
    from musiclust.metrics import clustering_accuracy

    X, y = blobs(n_per=60, d=10, k=4, sep=8.0, seed=2)
    m = LatentModel(
        "gmmvae",
        latent_dim=4,
        hidden=(64, 32),
        epochs=40,
        batch_size=32,
        patience=50,
        pretrain_epochs=20,
        n_components=4,
        seed=0,
    ).fit(X)
    assert clustering_accuracy(y, m.predict_clusters(X)) >= 0.95


def test_bad_input_is_a_clear_error():
    X, _ = blobs()
    with pytest.raises(MusiclustError, match="NaN"):
        Xn = X.copy()
        Xn[0, 0] = np.nan
        LatentModel("vae", **FAST).fit(Xn)
    m = LatentModel("ae", **FAST).fit(X)
    with pytest.raises(MusiclustError, match="built for"):
        m.encode(X[:, :5])
    with pytest.raises(MusiclustError, match="batch size"):
        LatentModel("vae", **{**FAST, "batch_size": 64}).fit(X[:20])
    with pytest.raises(MusiclustError, match="unknown model"):
        LatentModel("transformer")
    with pytest.raises(MusiclustError, match="condition"):
        LatentModel("cvae", **FAST).fit(X)


def test_registry_lists_the_whole_family():
    assert {"ae", "vae", "beta_vae", "cvae", "convvae", "multimodal", "gmmvae"} <= set(MODELS)


def test_early_stopping_waits_for_the_end_of_the_kl_warm_up():
    # During the warm-up the loss rises with the KL weight; with patience 1 an early stop there would end training
    # within the warm-up and restore weights fitted to a partial objective.
    X, _ = blobs()
    params = {**FAST, "epochs": 12, "patience": 1, "kl_warmup_epochs": 6}
    m = LatentModel("vae", seed=0, **params).fit(X)
    assert len(m.history_["loss"]) > 6


@pytest.mark.slow
@pytest.mark.parametrize("features", ["mfcc", "musicnn"])
def test_multimodal_both_experts_matter_on_real_songs(shared_data, hybrid_feature_cache, features):
    """On 60 real English/German songs: the lyrics expert alone separates the two languages, the audio expert alone
    does not, masking the lyrics changes the joint latent, and the fused expert latents keep the language -- also
    beside 200 musicnn dimensions (before the modalities were balanced, those drowned the 16 lyrics dimensions and the
    lyrics expert lost the language: NMI 0.00 on 200 such songs)."""
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score as nmi
    from sklearn.preprocessing import StandardScaler

    from musiclust.features import audio
    from musiclust.features.text import lyrics_features

    root = shared_data / "hybrid_songs"
    if not (root / "songs.csv").exists():
        pytest.skip("hybrid_songs is not present")
    songs = pd.read_csv(root / "songs.csv")
    songs = pd.concat([songs[songs["language"] == lang].head(30) for lang in ("en", "de")], ignore_index=True)
    if features == "musicnn":
        from musiclust.features import musicnn
        from musiclust.features.cache import FeatureCache
        from musiclust.features.engine import extract

        if musicnn.available():
            pytest.skip(musicnn.available())
        paths = [str(root / f) for f in songs["audio_file"]]
        X = extract(paths, "musicnn", n_jobs=1, progress=False, cache=FeatureCache(hybrid_feature_cache)).X
    else:
        X = np.stack(
            [audio.compute(audio.decode(str(root / f), max_seconds=15)[0], "mfcc")[0] for f in songs["audio_file"]]
        )
    X = StandardScaler().fit_transform(X)
    L, mask = lyrics_features(songs["lyrics"].tolist(), dim=16, seed=0)
    lang = songs["language"].to_numpy()
    m = LatentModel(
        "multimodal", latent_dim=8, hidden=(64, 32), epochs=60, batch_size=16, patience=15, kl_warmup_epochs=5, seed=0
    ).fit(X, lyrics=L, lyrics_mask=mask)
    experts = m.encode_experts(X, lyrics=L, lyrics_mask=mask)
    km = lambda Z: KMeans(2, n_init=10, random_state=0).fit_predict(Z)  # noqa: E731
    from musiclust.features.text import fuse

    lyrics_alone = nmi(lang, km(L))  # what K-Means finds in the lyrics features themselves
    assert lyrics_alone > 0.7
    assert nmi(lang, km(experts["lyrics"])) > lyrics_alone - 0.25
    assert nmi(lang, km(experts["audio"])) < 0.3
    # what the representation clusters: the experts' latents, fused
    assert nmi(lang, km(fuse(experts, {"audio": 1.0, "lyrics": 1.0}))) > lyrics_alone - 0.25
    joint = m.encode(X, lyrics=L, lyrics_mask=mask)
    no_lyrics = m.encode(X, lyrics=L, lyrics_mask=np.zeros(len(X), bool))
    assert np.abs(joint - no_lyrics).mean() > 0.1  # the lyrics expert moves the latent
    np.testing.assert_allclose(no_lyrics, experts["audio"], atol=1e-5)  # without lyrics only the audio expert speaks


def _eager_refine(encoder, decoder, X, n_clusters, seed, keep_reconstruction, gamma=0.1, epochs=5, batch_size=64):
    """DEC/IDEC's refinement written op by op and run eagerly: the reference for the traced step of models.idec."""
    import keras
    import tensorflow as tf
    from sklearn.cluster import KMeans

    from musiclust.models.idec import soft_assign, target_distribution

    km = KMeans(n_clusters, n_init=10, random_state=seed).fit(np.asarray(encoder(X)[0]))
    centres = tf.Variable(km.cluster_centers_.astype(np.float32))
    optimizer = keras.optimizers.Adam(1e-3)
    weights = [w for w in encoder.trainable_weights if "z_log_var" not in w.path]
    weights += (decoder.trainable_weights if keep_reconstruction else []) + [centres]
    rng, kls = np.random.default_rng(seed), []
    for _ in range(epochs):
        q = np.asarray(soft_assign(np.asarray(encoder(X)[0]), centres))
        p = target_distribution(q).astype(np.float32)
        order = rng.permutation(len(X))  # no early stop: every epoch is compared
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            with tf.GradientTape() as tape:
                z = encoder(X[idx])[0]
                qb = soft_assign(z, centres)
                kl = tf.reduce_mean(tf.reduce_sum(p[idx] * tf.math.log((p[idx] + 1e-10) / (qb + 1e-10)), axis=1))
                loss = kl
                if keep_reconstruction:
                    loss = tf.reduce_mean(tf.reduce_sum(tf.square(X[idx] - decoder(z)), axis=1)) * 0.5 + gamma * kl
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
            kls.append(float(kl))
    return centres.numpy(), kls


@pytest.mark.parametrize("keep_reconstruction", [True, False])
def test_the_traced_dec_step_computes_the_eager_step_to_the_bit(keep_reconstruction):
    import tensorflow as tf

    from musiclust.models.idec import refine

    X, _ = blobs(k=3)
    traced, eager = (LatentModel("ae", seed=0, **FAST).fit(X).model_ for _ in range(2))
    centres, history = refine(
        traced.encoders["audio"],
        traced.decoders["audio"],
        X,
        3,
        0,
        epochs=5,
        tol=-1.0,
        keep_reconstruction=keep_reconstruction,
    )
    ref_centres, ref_kls = _eager_refine(eager.encoders["audio"], eager.decoders["audio"], X, 3, 0, keep_reconstruction)
    assert len(history["idec_kl"]) == 5 and len(ref_kls) == 5 * 2  # 5 epochs of 2 batches (120 rows, 64 a batch)
    np.testing.assert_array_equal(centres, ref_centres)
    for a, b in zip(traced.encoders["audio"].get_weights(), eager.encoders["audio"].get_weights()):
        np.testing.assert_array_equal(a, b)
    if keep_reconstruction:
        for a, b in zip(traced.decoders["audio"].get_weights(), eager.decoders["audio"].get_weights()):
            np.testing.assert_array_equal(a, b)
    # the graph optimizer, off for the step, is back on for the rest of the process
    assert not tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)


@pytest.mark.parametrize("name", ["idec", "dec"])
def test_dec_and_idec_refine_the_autoencoder_latent_towards_clusters(tmp_path, name):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from musiclust.models.idec import target_distribution

    q = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    p = target_distribution(q)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] > q[0, 0] and p[2, 1] > q[2, 1]  # DEC's target sharpens confident assignments
    X, y = blobs(k=3)
    m = LatentModel(name, seed=0, **FAST).fit(X)
    assert np.asarray(m.cluster_centers_).shape == (3, 4)
    # both start from the same autoencoder (same seed: same pretraining); DEC leaves its decoder alone, IDEC trains it
    ae = LatentModel("ae", seed=0, **FAST).fit(X)
    same = [
        np.allclose(a, b)
        for a, b in zip(ae.model_.decoders["audio"].get_weights(), m.model_.decoders["audio"].get_weights())
    ]
    assert all(same) if name == "dec" else not all(same)
    assert m.history_["idec_kl"] and m.history_["idec_changed"][0] == 0.0
    Z = m.encode(X)
    assert adjusted_rand_score(y, KMeans(3, n_init=10, random_state=0).fit_predict(Z)) > 0.9
    again = LatentModel.load(m.save(tmp_path / name))
    np.testing.assert_allclose(again.encode(X), Z, rtol=1e-5, atol=1e-6)
    assert np.allclose(again.cluster_centers_, m.cluster_centers_)


def test_latent_activity_is_the_kl_per_dimension_above_001_nats():
    X, _ = blobs(k=3)
    m = LatentModel("vae", seed=0, **FAST).fit(X)
    act = m.latent_activity_
    per_dim = np.asarray(act["per_dim"])
    assert act["latent_dim"] == len(per_dim) == m.latent_dim
    assert act["active_units"] == int((per_dim > 0.01).sum()) >= 1
    # the same numbers from the latent means and variances: KL(q(z_d|x) || N(0, 1)) averaged over the tracks
    inputs = m._inputs(X)
    mu, lv = (np.asarray(a, dtype=np.float64) for a in m.model_.encode_distribution(inputs))
    np.testing.assert_allclose(per_dim, (0.5 * (mu**2 + np.exp(lv) - lv - 1)).mean(axis=0), atol=1e-4)
    assert m.history_["latent_activity"] == act
    ae = LatentModel("ae", seed=0, **FAST).fit(X)
    assert "variance" in ae.latent_activity_["criterion"]  # no KL in a deterministic model


@pytest.mark.parametrize("seed", [0, 3])
def test_no_vae_collapses_on_real_lyrics_alone(shared_data, seed):
    # 200 real songs' lyrics (32-D TF-IDF + SVD): with a unit-variance decoder the VAE and the Beta-VAE kept no active
    # unit (language NMI 0.27-0.37 and 0.00-0.01); seed 3 was the one on which even the calibrated Beta-VAE did, before
    # the free nat
    import pandas as pd

    from musiclust.clustering import cluster
    from musiclust.features.text import lyrics_features
    from musiclust.metrics import external_metrics

    df = pd.read_csv(shared_data / "hybrid_songs" / "songs.csv")
    L, _ = lyrics_features(df["lyrics"].fillna("").tolist(), dim=32, seed=0)
    y = df["language"].to_numpy()
    nmi = {}
    for name in ("ae", "vae", "beta_vae"):
        m = LatentModel(name, latent_dim=16, epochs=40, batch_size=32, patience=10, seed=seed).fit(L)
        assert m.latent_activity_["active_units"] >= 1, (name, m.latent_activity_)
        nmi[name] = external_metrics(y, cluster("kmeans", m.encode(L), 2, seed).labels)["nmi"]
    assert nmi["vae"] >= nmi["ae"] - 0.05 and nmi["vae"] > 0.9, nmi
    assert nmi["beta_vae"] > 0.5, nmi  # it keeps the language, however few units it spends on it


def test_every_crop_trained_model_gets_the_crop_schedule():
    """Both ConvVAEs see 10 crops of every clip an epoch, so both train ``conv_epochs`` epochs of 64 crops; the
    transfer ConvVAE once got the dense models' schedule (40 epochs of 32), 2.5x the epochs of the other."""
    from musiclust.config import CROP_MODELS, ExperimentConfig

    assert CROP_MODELS == {name for name, spec in MODELS.items() if spec.conv}
    config = ExperimentConfig(conv_epochs=7, epochs=40, batch_size=32)
    for name in MODELS:
        params = config.model_params(name)
        expected = (7, 64, 2) if MODELS[name].conv else (40, 32, config.kl_warmup_epochs)
        assert (params["epochs"], params["batch_size"], params["kl_warmup_epochs"]) == expected, name
