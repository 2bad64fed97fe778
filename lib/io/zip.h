/* zip.h: one member of a zip archive (an .npz file, as np.savez and
 * np.savez_compressed write it, zip64 included), found through the
 * archive's central directory; its bytes are read by source.c. Only
 * what .npz needs: stored or deflated members of a one-disk archive. */
#ifndef SEGPIPE_ZIP_H
#define SEGPIPE_ZIP_H

#include <stdint.h>
#include <sys/types.h>

/* ZIP_CD_MAX: the central directory read, at most (its names and sizes;
 * an .npz of a few arrays has a few hundred bytes) */
#define ZIP_CD_MAX ((int64_t)1 << 24)

typedef struct {
	off_t offset;          /* of the member's data in the file */
	uint64_t csize, usize; /* compressed and uncompressed bytes */
	int deflated;          /* method 8; else stored (0) */
	uint32_t crc;          /* CRC-32 of the uncompressed bytes */
	char name[256];        /* the member's name, cut to fit */
} zip_member;

/* zip_is_archive: the first bytes (n of them) are a zip archive's */
int zip_is_archive(const unsigned char *p, int n);
/* zip_find: in the archive open as fd, the member named want, or
 * want.npy (want NULL: the first member). NULL on success; else what is
 * wrong (a lying header, a missing member with the names there are),
 * in a static buffer. */
const char *zip_find(int fd, const char *want, zip_member *m);

#endif
