#!/usr/bin/env bats
load helper
bats_require_minimum_version 1.5.0

# Small models trained once for the whole file (seconds): a bce model on
# Otsu masks, a 2-channel mse model, an 11-class ce model on compose canvases.
setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	local images="$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz"
	local labels="$BATS_TEST_DIRNAME/fixtures/mnist-test-500-labels.idx.gz"
	# fp32: outputs are compared with a float64 numpy U-Net to 1e-4 (the
	# default precision is bf16 on CPUs that multiply bf16 natively)
	local t="--filters 4 -j 1 -b 16 --precision fp32"
	pick --first 200 "$images" > i200.npy
	otsu i200.npy > m200.npy
	pick --first 64 i200.npy > i64.npy
	otsu i64.npy > m64.npy
	# 8 epochs on 200 images: enough to predict foreground (IoU ~0.94)
	train-unet $t -e 8 --lr 0.01 -o bce.model i200.npy m200.npy 2> /dev/null
	stack m64.npy i64.npy > two.npy
	train-unet $t -e 2 --loss mse -o mse.model i64.npy two.npy 2> /dev/null
	compose -n 16 -m maps.npy "$images" "$labels" > canvases.npy
	train-unet $t -e 2 --loss ce --classes 11 -o ce.model canvases.npy maps.npy 2> /dev/null
}

# PY_DEFS: this file's own python, run before each py SCRIPT (helper.bash):
# an independent float64 U-Net forward written from segpipe-model(5).
PY_DEFS=$(cat <<'PYEOF'
def unet_forward(hdr, p, s, x):
    pi = [0]; si = [0]
    def take(buf, idx, *shape):
        k = int(np.prod(shape)); a = buf[idx[0]:idx[0] + k].reshape(shape); idx[0] += k; return a
    def block(x, co):
        ci = x.shape[1]; w = take(p, pi, co, ci, 3, 3); b = take(p, pi, co)
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))); H, W = x.shape[2:]
        y = np.zeros((x.shape[0], co, H, W)) + b[None, :, None, None]
        for dy in range(3):
            for dx in range(3):
                y += np.einsum('bchw,oc->bohw', xp[:, :, dy:dy + H, dx:dx + W], w[:, :, dy, dx])
        g = take(p, pi, co); be = take(p, pi, co); mu = take(s, si, co); var = take(s, si, co)
        e = lambda v: v[None, :, None, None]
        return np.maximum((y - e(mu)) / np.sqrt(e(var) + 1e-5) * e(g) + e(be), 0)
    D, F = int(hdr["depth"]), int(hdr["filters"]); skips = []
    for l in range(D):
        x = block(block(x, F << l), F << l); skips.append(x)
        B, C, H, W = x.shape; x = x.reshape(B, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))
    x = block(block(x, F << D), F << D)
    for l in reversed(range(D)):
        ci, co = x.shape[1], F << l; B, _, H, W = x.shape
        w = take(p, pi, ci, co, 2, 2); b = take(p, pi, co)
        up = np.einsum('bchw,cokl->bohkwl', x, w).reshape(B, co, 2 * H, 2 * W) + b[None, :, None, None]
        x = block(block(np.concatenate([up, skips[l]], axis=1), co), co)
    K = int(hdr["out_channels"]); w = take(p, pi, K, F, 1, 1); b = take(p, pi, K)
    assert pi[0] == len(p) and si[0] == len(s)
    return np.einsum('bchw,oc->bohw', x, w[:, :, 0, 0]) + b[None, :, None, None]
def reference(model, inputs):
    hdr, p, s = read_model(model)
    x = load(inputs); x = x.reshape(len(x), -1, *x.shape[-2:])
    x = x / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)
    H, W = x.shape[2:]; m = 1 << int(hdr["depth"])
    x = np.pad(x, ((0, 0), (0, 0), (0, -H % m), (0, -W % m)))
    z = unet_forward(hdr, p, s, x)[:, :, :H, :W]
    if hdr["loss"] == "bce":
        return 1 / (1 + np.exp(-z))
    if hdr["loss"] == "ce":
        e = np.exp(z - z.max(1, keepdims=True)); return e / e.sum(1, keepdims=True)
    return z
PYEOF
)

@test "predict: --help and --version" {
	run predict --help
	assert_success
	assert_output --partial "Usage: predict"
	run predict --version
	assert_success
	assert_line --index 0 --regexp "^predict \(segpipe\) [0-9.]+$"
	assert_line --index 1 --regexp '^kernel [a-z0-9-]+, precision (fp32|bf16)$'
}

@test "predict: bce, mse and ce outputs equal an independent numpy U-Net (tolerance 1e-4)" {
	cd "$BATS_FILE_TMPDIR"
	pick --first 8 i64.npy > i8.npy
	pick --first 4 canvases.npy > c4.npy
	predict -j 1 bce.model i8.npy > "$BATS_TEST_TMPDIR/bce.npy"
	predict -j 1 mse.model i8.npy > "$BATS_TEST_TMPDIR/mse.npy"
	predict -j 1 ce.model c4.npy > "$BATS_TEST_TMPDIR/ce.npy"
	run py '
for model, inp, got in (("bce.model", "i8.npy", "bce.npy"), ("mse.model", "i8.npy", "mse.npy"),
                        ("ce.model", "c4.npy", "ce.npy")):
    r = reference(model, inp); q = load(sys.argv[1] + "/" + got)
    print(model, q.dtype, q.shape, bool(np.abs(q.reshape(r.shape) - r).max() < 1e-4))' "$BATS_TEST_TMPDIR"
	assert_success
	assert_line --index 0 "bce.model float32 (8, 28, 28) True"
	assert_line --index 1 "mse.model float32 (8, 2, 28, 28) True"
	assert_line --index 2 "ce.model float32 (4, 11, 64, 84) True"
}

@test "predict: an image size that is not a multiple of 2^depth (30x30) is padded and cropped (1e-4)" {
	cd "$BATS_FILE_TMPDIR"
	pick --first 4 i64.npy | pad --size 30x30 > "$BATS_TEST_TMPDIR/i30.npy"
	predict -j 1 bce.model "$BATS_TEST_TMPDIR/i30.npy" > "$BATS_TEST_TMPDIR/p30.npy"
	run py '
r = reference("bce.model", sys.argv[1]); q = load(sys.argv[2])
print(q.shape, bool(np.abs(q.reshape(r.shape) - r).max() < 1e-4))' \
		"$BATS_TEST_TMPDIR/i30.npy" "$BATS_TEST_TMPDIR/p30.npy"
	assert_success
	assert_output "(4, 30, 30) True"
}

@test "predict: bce probabilities lie in [0,1]; --threshold gives uint8 masks prob > T" {
	cd "$BATS_FILE_TMPDIR"
	predict -j 1 bce.model i64.npy > "$BATS_TEST_TMPDIR/p.npy"
	predict -j 1 --threshold 0.5 bce.model i64.npy > "$BATS_TEST_TMPDIR/t5.npy"
	predict -j 1 -t 0.9 bce.model i64.npy > "$BATS_TEST_TMPDIR/t9.npy"
	run py '
p, t5, t9 = (load(sys.argv[1] + "/" + f) for f in ("p.npy", "t5.npy", "t9.npy"))
print(p.dtype, p.shape, bool(p.min() >= 0 and p.max() <= 1), t5.dtype, t5.shape,
      bool((t5 == (p > 0.5)).all()), bool((t9 == (p > 0.9)).all()), sorted(np.unique(t5).tolist()))' \
		"$BATS_TEST_TMPDIR"
	assert_success
	assert_output "float32 (64, 28, 28) True uint8 (64, 28, 28) True True [0, 1]"
}

@test "predict --argmax: uint8 class maps of the canvases' shape, the argmax of the probabilities" {
	cd "$BATS_FILE_TMPDIR"
	predict -j 1 --argmax ce.model canvases.npy > "$BATS_TEST_TMPDIR/a.npy"
	predict -j 1 ce.model canvases.npy > "$BATS_TEST_TMPDIR/p.npy"
	run py '
a = load(sys.argv[1]); p = load(sys.argv[2]); maps = load("maps.npy")
print(a.dtype, a.shape == maps.shape, a.shape, bool(np.abs(p.sum(1) - 1).max() < 1e-5),
      bool((a == p.argmax(1)).all()), int(a.max()) < 11)' "$BATS_TEST_TMPDIR/a.npy" "$BATS_TEST_TMPDIR/p.npy"
	assert_success
	assert_output "uint8 True (16, 64, 84) True True True"
}

@test "predict: stdin, '-' and a file give the same bytes; the batch size changes values only by rounding" {
	cd "$BATS_FILE_TMPDIR"
	predict -j 1 bce.model i64.npy > "$BATS_TEST_TMPDIR/file.npy"
	predict -j 1 bce.model - < i64.npy > "$BATS_TEST_TMPDIR/dash.npy"
	predict -j 1 bce.model < i64.npy > "$BATS_TEST_TMPDIR/stdin.npy"
	cmp "$BATS_TEST_TMPDIR/file.npy" "$BATS_TEST_TMPDIR/dash.npy"
	cmp "$BATS_TEST_TMPDIR/file.npy" "$BATS_TEST_TMPDIR/stdin.npy"
	predict -j 2 -b 5 bce.model i64.npy > "$BATS_TEST_TMPDIR/b5.npy"
	run py 'print(bool(np.abs(load(sys.argv[1]) - load(sys.argv[2])).max() < 1e-5))' \
		"$BATS_TEST_TMPDIR/file.npy" "$BATS_TEST_TMPDIR/b5.npy"
	assert_output "True"
}

@test "predict -P: PGM and PAM streams netpbm reads" {
	cd "$BATS_FILE_TMPDIR"
	predict -j 1 -P bce.model i64.npy > "$BATS_TEST_TMPDIR/p.pgm"
	run pamfile -allimages "$BATS_TEST_TMPDIR/p.pgm"
	assert_success
	assert_equal "${#lines[@]}" 64
	assert_line --index 0 --partial "PGM raw, 28 by 28  maxval 255"
	pnmtopng "$BATS_TEST_TMPDIR/p.pgm" > "$BATS_TEST_TMPDIR/p.png"

	predict -j 1 -P -t 0.5 bce.model i64.npy > "$BATS_TEST_TMPDIR/t.pgm"
	predict -j 1 -t 0.5 bce.model i64.npy > "$BATS_TEST_TMPDIR/t.npy"
	run pamfile -allimages "$BATS_TEST_TMPDIR/t.pgm"
	assert_equal "${#lines[@]}" 64
	# the PGM masks are 255 x the 0/1 masks
	run "$PY" -c '
import sys, io, numpy as np
raw = open(sys.argv[1], "rb").read(); hdr = b"P5\n28 28\n255\n"; n = len(hdr) + 784
assert len(raw) == 64 * n and all(raw[i * n:i * n + len(hdr)] == hdr for i in range(64))
pgm = np.frombuffer(raw, np.uint8).reshape(64, n)[:, len(hdr):].reshape(64, 28, 28)
t = np.load(sys.argv[2])
print(bool((pgm == 255 * t).all()))' "$BATS_TEST_TMPDIR/t.pgm" "$BATS_TEST_TMPDIR/t.npy"
	assert_output "True"

	predict -j 1 -P mse.model i64.npy > "$BATS_TEST_TMPDIR/m.pam"
	run pamfile -allimages "$BATS_TEST_TMPDIR/m.pam"
	assert_success
	assert_line --index 0 --partial "Image 0:	PAM, 28 by 28 by 2 maxval 255"
	assert_line --partial "Image 63:	PAM, 28 by 28 by 2 maxval 255"
	refute_line --partial "Image 64:"
	predict -j 1 -P --argmax ce.model canvases.npy > "$BATS_TEST_TMPDIR/a.pgm"
	run pamfile -allimages "$BATS_TEST_TMPDIR/a.pgm"
	assert_equal "${#lines[@]}" 16
	assert_line --index 0 --partial "PGM raw, 84 by 64  maxval 255"
}

@test "predict: bad model files are one error line, exit 1" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	run predict "$d/no-such.model" i64.npy
	assert_failure 1
	assert_output --regexp '^predict: .*no-such\.model: cannot open'
	assert_equal "${#lines[@]}" 1

	head -c 2000 bce.model > "$d/cut.model"
	run predict "$d/cut.model" i64.npy
	assert_failure 1
	assert_output --regexp '^predict: .*cut\.model: truncated'
	assert_equal "${#lines[@]}" 1

	# one bit flipped in the parameters: only the checksum can tell
	"$PY" -c '
import sys
d = bytearray(open(sys.argv[1], "rb").read()); d[len(d) // 2] ^= 1
open(sys.argv[2], "wb").write(d)
d = open(sys.argv[1], "rb").read().replace(b"segpipe-model 1\n", b"segpipe-model 2\n", 1)
open(sys.argv[3], "wb").write(d)' bce.model "$d/flip.model" "$d/v2.model"
	run predict "$d/flip.model" i64.npy
	assert_failure 1
	assert_output --regexp '^predict: .*flip\.model: checksum mismatch'
	assert_equal "${#lines[@]}" 1

	run predict "$d/v2.model" i64.npy
	assert_failure 1
	assert_output --regexp '^predict: .*v2\.model: model format version 2 is newer'
	assert_equal "${#lines[@]}" 1

	run predict i64.npy i64.npy
	assert_failure 1
	assert_output --regexp '^predict: i64\.npy: not a segpipe model'
	assert_equal "${#lines[@]}" 1

	: > "$d/empty.model"
	run predict "$d/empty.model" i64.npy
	assert_failure 1
	assert_output --regexp '^predict: .*empty\.model'
	assert_equal "${#lines[@]}" 1
}

@test "predict: input that does not fit the model is one error line, exit 1" {
	cd "$BATS_FILE_TMPDIR"
	run predict bce.model two.npy
	assert_failure 1
	assert_output --regexp '^predict: input samples 2x28x28 do not match the model.s 1 input channels'
	assert_equal "${#lines[@]}" 1

	run predict bce.model "$LABELS"
	assert_failure 1
	assert_output --regexp '^predict: '
	assert_equal "${#lines[@]}" 1

	run predict --argmax bce.model i64.npy
	assert_failure 1
	assert_output --regexp '^predict: --argmax needs a ce model'
	assert_equal "${#lines[@]}" 1

	printf 'hello, world\n' > "$BATS_TEST_TMPDIR/garbage"
	run predict bce.model "$BATS_TEST_TMPDIR/garbage"
	assert_failure 1
	assert_output --regexp '^predict: .*garbage'
	assert_equal "${#lines[@]}" 1
}

@test "predict: usage errors exit 2" {
	cd "$BATS_FILE_TMPDIR"
	run predict --bogus bce.model i64.npy
	assert_failure 2
	assert_line --index 0 "predict: unknown option '--bogus'"
	assert_line --index 1 "Try 'predict --help' for more information."
	assert_equal "${#lines[@]}" 2
	run predict bce.model i64.npy --threshold
	assert_failure 2
	assert_line --index 0 "predict: option '--threshold' needs a value"
	assert_equal "${#lines[@]}" 2
	run predict
	assert_failure 2
	assert_line --index 0 --regexp '^predict: missing operand'
	run predict bce.model i64.npy extra
	assert_failure 2
	assert_line --index 0 --regexp "^predict: extra operand 'extra'"
	run predict -t 0.5 --argmax ce.model canvases.npy
	assert_failure 2
	assert_line --index 0 --regexp '^predict: --threshold and --argmax exclude each other'
	run predict -b 0 bce.model i64.npy
	assert_failure 2
	assert_line --index 0 --regexp '^predict: --batch: '
	run predict -t abc bce.model i64.npy
	assert_failure 2
	assert_line --index 0 --regexp '^predict: --threshold: '
	run predict -j 0 bce.model i64.npy
	assert_failure 2
	assert_line --index 0 --regexp '^predict: --threads: '
}

@test "predict --precision: bf16 and fp32 probabilities of one model agree within 0.05" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	# a bf16-trained model predicts in its own precision and in fp32
	train-unet --filters 4 -j 1 -b 16 -e 4 --lr 0.01 --precision bf16 -o "$d/bf.model" \
		i200.npy m200.npy 2> /dev/null
	predict -j 1 "$d/bf.model" i64.npy > "$d/own.npy"
	predict -j 1 --precision bf16 "$d/bf.model" i64.npy > "$d/bf16.npy"
	predict -j 1 --precision fp32 "$d/bf.model" i64.npy > "$d/fp32.npy"
	cmp "$d/own.npy" "$d/bf16.npy"
	# and an fp32-trained one in bf16; tolerance: max abs difference of
	# probabilities below 0.05 (bf16 keeps 8 bits of mantissa per product
	# input); the two are not asserted to differ while kgemm is a stub
	predict -j 1 bce.model i64.npy > "$d/a32.npy"
	predict -j 1 --precision bf16 bce.model i64.npy > "$d/a16.npy"
	run py '
f = lambda p: load(p).astype(np.float64)
for a, b in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    x, y = f(a), f(b)
    print(x.shape == y.shape, np.abs(x - y).max() < 0.05, 0 <= y.min() and y.max() <= 1)' \
		"$d/fp32.npy" "$d/bf16.npy" "$d/a32.npy" "$d/a16.npy"
	assert_success
	assert_output $'True True True\nTrue True True'
	# -v names the precision in use: the model's unless told
	run --separate-stderr sh -c 'predict -v -j 1 "$1" i64.npy > /dev/null' sh "$d/bf.model"
	assert_equal "$stderr" "$(predict --precision bf16 --version | sed -n 's/^/predict: /; 2p')"
	[[ "$stderr" =~ ^predict:\ kernel\ .*,\ precision\ bf16$ ]]
	run --separate-stderr sh -c 'predict -v --precision fp32 -j 1 "$1" i64.npy > /dev/null' sh "$d/bf.model"
	[[ "$stderr" =~ ^predict:\ kernel\ .*,\ precision\ fp32$ ]]
}

@test "predict: a model whose precision key is unknown is one error line naming it; a bad --precision exits 2" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	model_edit bce.model "$d/fp16.model" "" "precision fp16"
	run predict "$d/fp16.model" i64.npy
	assert_failure 1
	assert_output --regexp "^predict: .*fp16\.model: bad value 'fp16' for precision \(fp32 or bf16\)$"
	assert_equal "${#lines[@]}" 1
	# the key spelled out as fp32 reads as its absence
	model_edit bce.model "$d/fp32.model" "" "precision fp32"
	predict -j 1 "$d/fp32.model" i64.npy > "$d/a.npy"
	predict -j 1 bce.model i64.npy | cmp - "$d/a.npy"
	run predict --precision fp16 bce.model i64.npy
	assert_failure 2
	assert_line --index 0 "predict: --precision: 'fp16' is not bf16 or fp32"
	assert_equal "${#lines[@]}" 2
}

@test "predict: man page is lint-clean" {
	run mandoc -T lint -W warning "$ROOT/man/man1/predict.1"
	assert_success
	assert_output ""
}
