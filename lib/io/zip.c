/* zip.c: finding one member of a zip archive (.npz) by its central
 * directory (APPNOTE 6.3: end of central directory, zip64 end record and
 * locator, central file headers with their zip64 extra field, local file
 * header). Every offset and size is checked against the file before it
 * is used; nothing is allocated beyond the directory the file holds. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "zip.h"

#define EOCD_LEN 22
#define EOCD_SEARCH (EOCD_LEN + 65535)   /* the record and the longest comment */
#define CDH_LEN 46                         /* central file header, fixed part */
#define LFH_LEN 30                         /* local file header, fixed part */

static char msg[512];

static const char *bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return msg;
}

static uint32_t le16(const unsigned char *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const unsigned char *p) { return le16(p) | le16(p + 2) << 16; }
static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* printable: n bytes of a name into out (size cap), what is not printable
 * ASCII as '?', so a message stays one line */
static void printable(char *out, size_t cap, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < cap; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[i] = '\0';
}

int zip_is_archive(const unsigned char *p, int n)
{
	return n >= 4 && p[0] == 'P' && p[1] == 'K' &&
	       ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6));
}

/* get: n bytes at off, all of them, or -1 */
static int get(int fd, void *buf, size_t n, uint64_t off)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* zip64_extra: the 64-bit values of the fields that hold 0xffffffff, in
 * the order of the zip64 extra field (size, compressed size, offset) */
static const char *zip64_extra(const unsigned char *x, uint32_t len, uint64_t *usize,
			       uint64_t *csize, uint64_t *off)
{
	while (len >= 4) {
		uint32_t id = le16(x), n = le16(x + 2);
		const unsigned char *v = x + 4;

		if (n > len - 4)
			return bad("bad zip extra field");
		if (id == 1) {
			uint64_t *f[3] = { usize, csize, off };
			for (int i = 0; i < 3; i++) {
				if (*f[i] != 0xffffffffu)
					continue;
				if (n < 8)
					return bad("bad zip64 extra field");
				*f[i] = le64(v);
				v += 8;
				n -= 8;
			}
			return NULL;
		}
		x += 4 + n;
		len -= 4 + n;
	}
	return NULL;
}

/* find_eocd: the end of central directory record's offset in the file
 * (size bytes), its entries, and the directory's offset and size */
static const char *find_eocd(int fd, uint64_t size, uint64_t *count, uint64_t *cd_off,
			     uint64_t *cd_size)
{
	unsigned char *tail, *e, loc[20], z[56];
	int64_t ei = -1;
	uint64_t n = size < EOCD_SEARCH ? size : EOCD_SEARCH, at;

	if (size < EOCD_LEN)
		return bad("truncated zip archive: no end of central directory");
	tail = xmalloc((size_t)n);
	if (get(fd, tail, (size_t)n, size - n) != 0) {
		free(tail);
		return bad("cannot read the zip archive: %s", strerror(errno ? errno : EIO));
	}
	/* the last signature whose comment ends the file */
	for (int64_t i = (int64_t)n - EOCD_LEN; i >= 0 && ei < 0; i--)
		if (!memcmp(tail + i, "PK\5\6", 4) && i + EOCD_LEN + le16(tail + i + 20) == (int64_t)n)
			ei = i;
	if (ei < 0) {
		free(tail);
		return bad("not a zip archive: no end of central directory");
	}
	e = tail + ei;
	at = size - n + (uint64_t)ei;
	if (le16(e + 4) != 0 || le16(e + 6) != 0) {
		free(tail);
		return bad("a zip archive of several disks is not supported");
	}
	*count = le16(e + 10);
	*cd_size = le32(e + 12);
	*cd_off = le32(e + 16);
	free(tail);
	if (*count != 0xffff && *cd_size != 0xffffffffu && *cd_off != 0xffffffffu)
		return NULL;
	/* zip64: the locator just before, pointing at the zip64 end record */
	if (at < 20 || get(fd, loc, 20, at - 20) != 0 || memcmp(loc, "PK\6\7", 4) != 0)
		return bad("bad zip64 archive: no zip64 end of central directory locator");
	if (le64(loc + 8) > at - 20 || at - 20 - le64(loc + 8) < 56 ||
	    get(fd, z, 56, le64(loc + 8)) != 0 || memcmp(z, "PK\6\6", 4) != 0)
		return bad("bad zip64 archive: no zip64 end of central directory");
	*count = le64(z + 32);
	*cd_size = le64(z + 40);
	*cd_off = le64(z + 48);
	return NULL;
}

const char *zip_find(int fd, const char *want, zip_member *m)
{
	struct stat st;
	uint64_t size, count = 0, cd_off = 0, cd_size = 0, pos = 0;
	unsigned char *cd, lfh[LFH_LEN];
	char names[200] = "";
	const char *err;
	size_t wl = want ? strlen(want) : 0;
	char wname[64];
	int found = 0;

	printable(wname, sizeof wname, (const unsigned char *)(want ? want : ""), wl);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return bad("a zip archive (.npz) is read from a file, not a pipe");
	size = (uint64_t)st.st_size;
	if ((err = find_eocd(fd, size, &count, &cd_off, &cd_size)) != NULL)
		return err;
	if (cd_off > size || cd_size > size - cd_off)
		return bad("bad zip archive: the central directory lies outside the file");
	if ((int64_t)cd_size > ZIP_CD_MAX)
		return bad("zip central directory too large (%llu bytes)", (unsigned long long)cd_size);
	if (count == 0 || cd_size == 0)
		return bad("an empty zip archive: no array in it");
	cd = xmalloc((size_t)cd_size);
	if (get(fd, cd, (size_t)cd_size, cd_off) != 0) {
		free(cd);
		return bad("cannot read the zip central directory");
	}
	for (uint64_t k = 0; k < count && !found; k++) {
		const unsigned char *h = cd + pos;
		uint32_t nl, xl, cl;
		uint64_t usize, csize, off;

		if (cd_size - pos < CDH_LEN || memcmp(h, "PK\1\2", 4) != 0) {
			free(cd);
			return bad("bad zip central directory (entry %llu)", (unsigned long long)k);
		}
		nl = le16(h + 28);
		xl = le16(h + 30);
		cl = le16(h + 32);
		if (cd_size - pos - CDH_LEN < (uint64_t)nl + xl + cl) {
			free(cd);
			return bad("bad zip central directory (entry %llu)", (unsigned long long)k);
		}
		csize = le32(h + 20);
		usize = le32(h + 24);
		off = le32(h + 42);
		if ((err = zip64_extra(h + CDH_LEN + nl, xl, &usize, &csize, &off)) != NULL) {
			free(cd);
			return err;
		}
		if (!want || (nl == wl && !memcmp(h + CDH_LEN, want, wl)) ||
		    (nl == wl + 4 && !memcmp(h + CDH_LEN, want, wl) && !memcmp(h + CDH_LEN + wl, ".npy", 4))) {
			uint32_t flags = le16(h + 8), method = le16(h + 10);

			found = 1;
			printable(m->name, sizeof m->name, h + CDH_LEN, nl);
			if (flags & 1) {
				free(cd);
				return bad("zip member %s is encrypted", m->name);
			}
			if (method != 0 && method != 8) {
				free(cd);
				return bad("zip member %s: compression method %u is not supported "
					   "(stored and deflated are)", m->name, method);
			}
			m->deflated = method == 8;
			m->crc = le32(h + 16);
			m->csize = csize;
			m->usize = usize;
			/* the local header: its name and extra field precede the data */
			if (off > size || size - off < LFH_LEN || get(fd, lfh, LFH_LEN, off) != 0 ||
			    memcmp(lfh, "PK\3\4", 4) != 0) {
				free(cd);
				return bad("bad zip archive: no local header of member %s", m->name);
			}
			off += LFH_LEN + le16(lfh + 26) + le16(lfh + 28);
			if (off > size || csize > size - off || (!m->deflated && csize != usize)) {
				free(cd);
				return bad("bad zip archive: member %s lies outside the file", m->name);
			}
			m->offset = (off_t)off;
		} else if (strlen(names) < sizeof names - 8) {
			size_t len = strlen(names);
			uint32_t show = nl > 4 && !memcmp(h + CDH_LEN + nl - 4, ".npy", 4) ? nl - 4 : nl;
			if (len)
				strcpy(names + len, ", "), len += 2;
			printable(names + len, sizeof names - len, h + CDH_LEN, show);
		}
		pos += CDH_LEN + (uint64_t)nl + xl + cl;
	}
	free(cd);
	if (!found)
		return bad("no member '%s' in the zip archive (members: %s%s)", wname, names,
			   strlen(names) >= sizeof names - 8 ? ", ..." : "");
	return NULL;
}
