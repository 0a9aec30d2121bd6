/* fixture_tree.h: small dataset trees written into a temporary folder for tests.
 *
 *     char *root = fixture_tmpdir("llx_data");        // /tmp/llx_data_XXXXXX (mkdtemp)
 *     fixture_image(fixture_path(p, sizeof p, "%s/train/happy/a.jpg", root), 8, 8, 1, 17);
 *     ...
 *     fixture_rmtree(root); free(root);
 *
 * Every writer creates the missing parent folders and returns 0 on success, -1 (with
 * a message on stderr) on failure. Images are written through llx_image_save_jpeg or
 * llx_image_save_png (by the path's extension), filled with a constant `value` so a
 * test can tell which file a decoded sample came from. */
#ifndef LLX_TESTS_FIXTURE_TREE_H
#define LLX_TESTS_FIXTURE_TREE_H

#include <stddef.h>
#include <stdint.h>

/* A new empty folder /tmp/<prefix>_XXXXXX (malloc'd path), NULL on failure. */
char *fixture_tmpdir(const char *prefix);
/* Removes a folder and everything in it. */
void fixture_rmtree(const char *dir);
/* mkdir -p. */
int fixture_mkdirs(const char *dir);
/* snprintf into buf; returns buf. */
const char *fixture_path(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int fixture_text(const char *path, const char *text);
int fixture_bytes(const char *path, const void *bytes, size_t len);
/* A w x h image with `channels` (1 or 3) all equal to value; .png -> PNG, else JPEG. */
int fixture_image(const char *path, int w, int h, int channels, uint8_t value);
/* The first `keep` bytes of a freshly encoded image (a truncated file). */
int fixture_truncated_image(const char *path, int w, int h, size_t keep);

/* FER2013 class folder names in the CSV's label order (0 angry .. 6 neutral). */
extern const char *const fixture_fer_folders[7];

/* fer2013.csv with n_train Training, n_public PublicTest, n_private PrivateTest rows (in
 * that order); row r has emotion r % 7 and all pixels r % 256. Columns in the order
 * given by `header` (a permutation of "emotion,pixels,Usage"). */
int fixture_fer2013_csv(const char *path, const char *header, int n_train, int n_public, int n_private);
/* root/train/<class>/Training_<r>.jpg and root/test/<class>/{PublicTest,PrivateTest}_<r>.jpg,
 * class of row r = fixture_fer_folders[r % 7], 48x48 grey. */
int fixture_fer2013_folders(const char *root, int n_train, int n_public, int n_private);

/* Aff-Wild2 video: root/annotations/EXPR_Set/<set>/<video>.txt with labels[0..n) (and the
 * header line when header) and root/cropped_aligned/<video>/<NNNNN>.jpg for every frame
 * i+1 with has_image == NULL or has_image[i]. */
int fixture_affwild2_video(const char *root, const char *set, const char *video, const int *labels, int n,
                           const uint8_t *has_image, int header);

#endif
