/* mlp.c: dense layers, multi-layer perceptrons, their model files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "mlp.h"

/* ---- the dense layer ------------------------------------------------------
 * Work is split into nn_threads() fixed chunks, each one single-threaded
 * sgemm: rows of the batch for out and dinp, rows of the weight for dw and
 * db. No chunk sums over another's data, so the result depends only on the
 * inputs and the thread count. */

static int chunks_of(int n)
{
	int t = nn_threads();

	return t < n ? t : n;
}

static int chunk_lo(int n, int t, int T)
{
	return (int)((int64_t)n * t / T);
}

// out (B,Out), inp (B,In), w (Out,In), b (Out) or NULL
void linear_forward(float *out, const float *inp, const float *w, const float *b,
		    int B, int In, int Out)
{
	int T = chunks_of(B);

	#pragma omp parallel for schedule(static)
	for (int t = 0; t < T; t++) {
		int r0 = chunk_lo(B, t, T), r1 = chunk_lo(B, t + 1, T);
		float *o = out + (size_t)r0 * Out;

		for (int r = r0; r < r1; r++)
			if (b)
				memcpy(out + (size_t)r * Out, b, (size_t)Out * sizeof(float));
			else
				memset(out + (size_t)r * Out, 0, (size_t)Out * sizeof(float));
		kgemm(0, 1, r1 - r0, Out, In, inp + (size_t)r0 * In, In, w, In, 1.0f, o, Out);
	}
}

// dinp (B,In) written (may be NULL), dw (Out,In) +=, db (Out) +=, dout (B,Out),
// inp (B,In), w (Out,In)
void linear_backward(float *dinp, float *dw, float *db, const float *dout,
		     const float *inp, const float *w, int B, int In, int Out)
{
	int T;

	if (B == 0)
		return;
	if (dinp) {
		T = chunks_of(B);
		/* dinp = dout w */
		#pragma omp parallel for schedule(static)
		for (int t = 0; t < T; t++) {
			int r0 = chunk_lo(B, t, T), r1 = chunk_lo(B, t + 1, T);
			kgemm(0, 0, r1 - r0, In, Out, dout + (size_t)r0 * Out, Out, w, In, 0.0f, dinp + (size_t)r0 * In, In);
		}
	}
	T = chunks_of(Out);
	/* dw += dout^T inp, db += column sums of dout; by rows of w */
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < T; t++) {
		int o0 = chunk_lo(Out, t, T), o1 = chunk_lo(Out, t + 1, T);

		kgemm(1, 0, o1 - o0, In, B, dout + o0, Out, inp, In, 1.0f, dw + (size_t)o0 * In, In);
		for (int o = o0; o < o1; o++) {
			float s = db[o];
			for (int r = 0; r < B; r++)
				s += dout[(size_t)r * Out + o];
			db[o] = s;
		}
	}
}

/* ---- names and lists ---- */

int mlp_act_parse(const char *name)
{
	int a;

	if (!strcmp(name, "linear") || !strcmp(name, "none"))
		return MLP_LINEAR;
	a = act_parse(name);
	return a < 0 ? -2 : a;
}

const char *mlp_act_name(int act)
{
	return act == MLP_LINEAR ? "linear" : act_name((act_kind)act);
}

/* split "a,b,c" into at most max tokens of fewer than 32 characters; no
 * empty token. Returns the count, or -1. */
static int split_list(const char *s, char tok[][32], int max)
{
	int n = 0;

	for (;;) {
		size_t len = strcspn(s, ",");
		if (len == 0 || len >= 32 || n == max)
			return -1;
		memcpy(tok[n], s, len);
		tok[n++][len] = '\0';
		if (!s[len])
			return n;
		s += len + 1;
	}
}

int mlp_parse_sizes(const char *s, int *size, int max)
{
	char tok[MLP_MAX_LAYERS][32];
	int n = split_list(s, tok, max < MLP_MAX_LAYERS ? max : MLP_MAX_LAYERS);

	if (n < 2)
		return -1;
	for (int i = 0; i < n; i++) {
		char *end;
		long v = strtol(tok[i], &end, 10);
		if (*end || end == tok[i] || v < 1 || v > (1 << 24))
			return -1;
		size[i] = (int)v;
	}
	return n;
}

int mlp_parse_acts(const char *s, int *act, int max)
{
	char tok[MLP_MAX_LAYERS][32];
	int n = split_list(s, tok, max < MLP_MAX_LAYERS ? max : MLP_MAX_LAYERS);

	for (int i = 0; i < n; i++)
		if ((act[i] = mlp_act_parse(tok[i])) == -2)
			return -1;
	return n;
}

/* ---- the network ---- */

size_t mlp_nparams(int L, const int *size)
{
	size_t n = 0;

	for (int l = 0; l < L; l++)
		n += ((size_t)size[l] + 1) * (size_t)size[l + 1];   /* weights, biases */
	return n;
}

mlp *mlp_create(int L, const int *size, const int *act, loss_kind loss,
		char *err, size_t errlen)
{
	mlp *m;
	nn_layout lay = { 0 };

	if (L < 1 || L + 1 > MLP_MAX_LAYERS) {
		snprintf(err, errlen, "%d dense layers (1..%d)", L, MLP_MAX_LAYERS - 1);
		return NULL;
	}
	for (int l = 0; l <= L; l++)
		if (size[l] < 1 || size[l] > (1 << 24)) {
			snprintf(err, errlen, "layer size %d out of range (1..%d)", size[l], 1 << 24);
			return NULL;
		}
	if (loss != LOSS_MSE && loss != LOSS_BCE) {
		snprintf(err, errlen, "loss %s is not for an mlp (mse or bce)", loss_name(loss));
		return NULL;
	}
	if (loss == LOSS_BCE && act[L - 1] != ACT_SIGMOID) {
		snprintf(err, errlen, "loss bce needs a sigmoid output layer, not %s",
			 mlp_act_name(act[L - 1]));
		return NULL;
	}
	m = xcalloc(1, sizeof *m);
	m->L = L;
	m->loss = loss;
	memcpy(m->size, size, (size_t)(L + 1) * sizeof *size);
	memcpy(m->act, act, (size_t)L * sizeof *act);
	for (int l = 0; l < L; l++) {
		m->woff[l] = nn_layout_add(&lay, (size_t)size[l + 1] * (size_t)size[l]);
		m->boff[l] = nn_layout_add(&lay, (size_t)size[l + 1]);
	}
	nn_params_alloc(&m->params, lay.total);
	nn_layout_free(&lay);
	return m;
}

void mlp_free(mlp *m)
{
	if (!m)
		return;
	nn_params_free(&m->params);
	for (int l = 1; l <= m->L; l++)
		free(m->a[l]);
	free(m->logits);
	free(m->d0);
	free(m->d1);
	free(m);
}

void mlp_init_params(mlp *m, uint64_t seed)
{
	rng_t r;

	rng_seed(&r, seed);
	for (int l = 0; l < m->L; l++) {
		int In = m->size[l], Out = m->size[l + 1];
		float *w = m->params.p + m->woff[l];
		size_t n = (size_t)Out * In;

		if (m->act[l] == ACT_RELU || m->act[l] == ACT_LEAKY_RELU) {
			init_kaiming(w, n, In, &r);
		} else {
			float a = sqrtf(6.0f / (float)(In + Out));   /* Glorot uniform */
			for (size_t i = 0; i < n; i++)
				w[i] = a * (float)(2.0 * rng_uniform(&r) - 1.0);
		}
		init_fill(m->params.p + m->boff[l], (size_t)Out, 0.0f);
	}
}

/* make the buffers hold a batch of B */
static void reserve(mlp *m, int B)
{
	int widest = 0;

	if (B <= m->cap)
		return;
	for (int l = 1; l <= m->L; l++) {
		free(m->a[l]);
		m->a[l] = xmalloc_array((size_t)B * m->size[l], sizeof(float));
	}
	for (int l = 0; l <= m->L; l++)
		if (m->size[l] > widest)
			widest = m->size[l];
	free(m->logits);
	free(m->d0);
	free(m->d1);
	m->logits = xmalloc_array((size_t)B * m->size[m->L], sizeof(float));
	m->d0 = xmalloc_array((size_t)B * widest, sizeof(float));
	m->d1 = xmalloc_array((size_t)B * widest, sizeof(float));
	m->cap = B;
}

// out (B,size[L]), x (B,size[0])
void mlp_forward(mlp *m, const float *x, int B, float *out)
{
	const float *in = x;

	reserve(m, B);
	m->x = x;
	m->B = B;
	for (int l = 0; l < m->L; l++) {
		int In = m->size[l], Out = m->size[l + 1];
		/* bce keeps the last layer's logits for the loss */
		float *z = l == m->L - 1 && m->loss == LOSS_BCE ? m->logits : m->a[l + 1];

		linear_forward(z, in, m->params.p + m->woff[l], m->params.p + m->boff[l], B, In, Out);
		if (m->act[l] != MLP_LINEAR)
			act_forward(m->a[l + 1], z, (size_t)B * Out, (act_kind)m->act[l]);
		in = m->a[l + 1];
	}
	if (out)
		memcpy(out, m->a[m->L], (size_t)B * m->size[m->L] * sizeof(float));
}

const float *mlp_layer(const mlp *m, int k)
{
	return k == 0 ? m->x : m->a[k];
}

/* the loss, leaving its gradient with respect to the last pre-activation
 * in d0 */
float mlp_loss(mlp *m, const float *y)
{
	int L = m->L;
	size_t n = (size_t)m->B * m->size[L];
	float loss;

	if (n == 0)
		return 0.0f;
	if (m->loss == LOSS_BCE)
		return bce_loss(m->d0, m->logits, y, n);
	loss = mse_loss(m->d0, m->a[L], y, n);
	if (m->act[L - 1] != MLP_LINEAR)
		act_backward(m->d0, m->d0, m->a[L], n, (act_kind)m->act[L - 1]);
	return loss;
}

float mlp_forward_backward(mlp *m, const float *x, const float *y, int B)
{
	float loss, *dz, *dprev;

	mlp_forward(m, x, B, NULL);
	loss = mlp_loss(m, y);
	dz = m->d0;
	dprev = m->d1;
	for (int l = m->L - 1; l >= 0; l--) {
		int In = m->size[l], Out = m->size[l + 1];
		const float *in = l ? m->a[l] : x;

		linear_backward(l ? dprev : NULL, m->params.g + m->woff[l], m->params.g + m->boff[l],
				dz, in, m->params.p + m->woff[l], B, In, Out);
		if (l > 0) {
			float *t = dz;
			if (m->act[l - 1] != MLP_LINEAR)
				act_backward(dprev, dprev, m->a[l], (size_t)B * In,
					     (act_kind)m->act[l - 1]);
			dz = dprev;
			dprev = t;
		}
	}
	return loss;
}

float mlp_train_step(mlp *m, const float *x, const float *y, int B, const adam_config *opt)
{
	float loss;

	nn_params_zero_grad(&m->params);
	loss = mlp_forward_backward(m, x, y, B);
	adam_step(&m->params, opt);
	return loss;
}

/* ---- model files ---- */

/* join L+1 sizes or L activations with commas; dies if too long */
static void join(char *buf, size_t len, const int *v, int n, int acts)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		int k;
		if (acts)
			k = snprintf(buf + pos, len - pos, "%s%s", i ? "," : "",
				     v[i] == MLP_LINEAR ? "none" : act_name((act_kind)v[i]));
		else
			k = snprintf(buf + pos, len - pos, "%s%d", i ? "," : "", v[i]);
		if (k < 0 || (size_t)k >= len - pos)
			die("the network's %s list is too long for a model file",
			    acts ? "activations" : "layers");
		pos += (size_t)k;
	}
}

void mlp_to_model(model *md, const mlp *m, int with_adam)
{
	model_free(md);
	snprintf(md->kind, sizeof md->kind, "mlp");
	md->in_channels = m->size[0];
	md->out_channels = m->size[m->L];
	join(md->layers, sizeof md->layers, m->size, m->L + 1, 0);
	join(md->activations, sizeof md->activations, m->act, m->L, 1);
	md->loss = m->loss;
	md->classes = 0;
	model_put_state(md, &m->params, NULL, 0, with_adam);
}

mlp *mlp_from_model(const model *md, const char *path)
{
	int size[MLP_MAX_LAYERS], act[MLP_MAX_LAYERS], ns, na;
	char err[256];
	mlp *m;

	if (strcmp(md->kind, "mlp") != 0)
		die("%s: the model is a %s, not an mlp", path, md->kind);
	ns = mlp_parse_sizes(md->layers, size, MLP_MAX_LAYERS);
	na = mlp_parse_acts(md->activations, act, MLP_MAX_LAYERS);
	if (ns < 2 || na != ns - 1)
		die("%s: %d activations for %d layer sizes", path, na, ns);
	if (size[0] != md->in_channels || size[ns - 1] != md->out_channels)
		die("%s: layers %s disagree with in_channels %d, out_channels %d", path,
		    md->layers, md->in_channels, md->out_channels);
	/* the count the header's layers imply, checked before they are
	 * allocated: md->nparams was checked against the file's size */
	if (mlp_nparams(ns - 1, size) != md->nparams)
		die("%s: the model has %zu parameters, but layers %s need %zu", path, md->nparams,
		    md->layers, mlp_nparams(ns - 1, size));
	m = mlp_create(ns - 1, size, act, md->loss, err, sizeof err);
	if (!m)
		die("%s: %s", path, err);
	model_get_state(md, &m->params, NULL);
	return m;
}
