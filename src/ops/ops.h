/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Operations: what turns one capture into a capture an admin can schedule.
 * The capture directory's lifecycle (a partial directory beside the final
 * one, verified, renamed into place), generations in a directory with a
 * 'latest' link and retention, the configuration file, and the pre- and
 * post-capture hooks.
 *
 * Above every other core layer but below src/cmd/: it scans, captures data
 * and loads manifests through their layers, and prints nothing itself.
 */
#ifndef LIFEBOAT_OPS_OPS_H
#define LIFEBOAT_OPS_OPS_H

#include "base/base.h"
#include "model/model.h"
#include "disk/disk.h"
#include "data/data.h"
#include "plan/plan.h"

#define LB_CAPTURES_DIR "/var/lib/lifeboat/captures"
#define LB_CONFIG_FILE "/etc/lifeboat/lifeboat.conf"
#define LB_CAPTURE_LOG "capture.log"
#define LB_HOOK_TIMEOUT_DEFAULT 600	/* seconds */

/* ---- configuration (config.c) ------------------------------------------ */

/* Every key of lifeboat.conf(5). A field the file did not set is NULL,
 * empty or has its has_ flag false: the command line and the built-in
 * defaults decide then. */
struct lb_config {
	char *into;
	char *output;
	bool has_keep;
	uint32_t keep;
	char **disks;
	size_t n_disks;
	char **exclude;
	size_t n_exclude;
	char *data;
	char *compress;
	bool has_encrypt;
	bool encrypt;
	char **key_files;
	size_t n_key_files;
	bool has_max_age;
	double max_age;		/* days */
	char **pre;		/* pre-capture programs, in order */
	size_t n_pre;
	char **post;		/* post-capture programs, in order */
	size_t n_post;
	bool has_hook_timeout;
	uint32_t hook_timeout;	/* seconds, 0: none */
	bool has_pre_continue;
	bool pre_continue;	/* pre-capture-failure = continue */
	bool has_json;
	bool json;
};

/* Reads the lines of buf (name is the file's, for messages). A bad line
 * gives -EINVAL with "NAME:LINE: what is wrong". */
int lb_config_parse(struct lb_config *c, const char *buf, size_t len, const char *name);
/* path NULL: LB_CONFIG_FILE, and a missing file is no error. A file named
 * with --config must exist. */
int lb_config_load(struct lb_config *c, const char *path);
void lb_config_clear(struct lb_config *c);
/* "1", "2.5", "0.00001": a finite number of days >= 0 */
int lb_parse_days(const char *s, double *ret);
/* "1".."19" or "none" (0) */
int lb_parse_compress(const char *s, int *ret);

/* ---- verifying a capture in this process (verify.c) ------------------- */

/* Called for each artifact: r < 0 when it is damaged or missing (msg says
 * how); a data file's method ("image", "archive", "ciphertext"; NULL for
 * other artifacts) and bytes of data. */
typedef void (*lb_verify_fn)(void *ud, const char *what, const struct lb_artifact *a, int r,
			     const char *msg, const char *method, uint64_t bytes);

/* What 'lifeboat verify' checks: every artifact against its size and
 * SHA-256, every data file chunk by chunk. 0 when all are intact, else
 * -EBADMSG with the first damage in lb_errmsg(). */
int lb_capture_verify(const struct lb_manifest *m, lb_verify_fn fn, void *ud, unsigned *ret_ok,
		      unsigned *ret_bad);
/* Cheap: every artifact is there with its recorded size (no checksums). */
int lb_capture_check_present(const struct lb_manifest *m);

/* ---- generations: DIR/<UTC time>/ and DIR/latest (gens.c) ------------- */

struct lb_generation {
	char *name;		/* 20261207T050000Z or 20261207T050000Z-2 */
	char *path;
	time_t time;		/* from the name */
	unsigned seq;		/* the -N, 1 without */
	bool latest;		/* DIR/latest points at it */
};

/* The generations in dir, oldest first; a missing dir has none. */
int lb_gens_list(const char *dir, struct lb_generation **ret, size_t *ret_n);
void lb_gens_free(struct lb_generation *g, size_t n);
bool lb_gens_is_name(const char *name, time_t *ret_time, unsigned *ret_seq);
/* What an interrupted run leaves: .NAME.partial.PID.TAG (a capture being
 * written, held by it: lb_held_mkdir; .NAME.partial.PID of an older
 * lifeboat), .NAME.removing.PID (a generation being removed), .latest.PID
 * (a link not yet renamed to latest). */
bool lb_gens_is_partial(const char *name);
/* A fresh name for now, not taken in dir. */
int lb_gens_new_name(const char *dir, char **ret);
/* Points dir/latest at name, atomically (a new link renamed over it). */
int lb_gens_set_latest(const char *dir, const char *name);
/* The name dir/latest points at, or NULL. */
char *lb_gens_latest(const char *dir);
/* Takes dir/.lock (flock, not waiting): -EBUSY when another capture holds it. */
int lb_gens_lock(const char *dir, int *ret_fd);
/* Removes partial directories an interrupted run left (the lock held;
 * not one a capture --output dir/NAME running holds); the number removed. */
int lb_gens_clean_partial(const char *dir);
/* Without the lock (capture --output): removes dir/.NAME.partial.PID.TAG
 * of every capture gone (no process holds it, in whatever PID namespace),
 * and an older lifeboat's dir/.NAME.partial.PID of every PID that is not
 * running here (a capture killed before it could clean up); the number
 * removed. *ret_held: the name of one a running capture holds, or NULL. */
int lb_gens_clean_dead_partial(const char *dir, const char *name, char **ret_held);
/* Keeps the keep newest good generations (good: the manifest loads and
 * every artifact is there at its size; each was verified before it got
 * its name) and removes every older one, never 'latest'. Each removed name
 * is reported to fn. The number removed. */
int lb_gens_prune(const char *dir, uint32_t keep, void (*fn)(void *ud, const char *name),
		  void *ud);

/* ---- one capture, for list and status (inspect.c) --------------------- */

struct lb_capture_info {
	char *name;
	char *path;
	time_t time;		/* the generation's name, else the manifest's */
	uint64_t size;		/* bytes of its files */
	bool loads;		/* the manifest reads and validates */
	bool verified;		/* and every artifact is intact */
	bool hooks_failed;	/* its log's last post-capture run failed */
	bool latest;
	char *result;		/* "ok", "post-capture hook failed", "damaged" */
	char *problem;		/* what is wrong, when it is not ok */
};

/* Loads and verifies the capture at path. */
int lb_capture_inspect(const char *path, struct lb_capture_info *ret);
void lb_capture_info_clear(struct lb_capture_info *ci);

/* ---- has the layout changed since (drift.c) --------------------------- */

/* What changed on this machine since the capture p was planned from:
 * disks the planner would recreate or finds missing, and on intact disks
 * partitions added or grown and volumes made, gone or changed.
 * layout_intact: what compare says (lb_plan_all_intact, problems). The
 * lines in *ret (free each and the array); their number. */
int lb_layout_changes(const struct lb_plan *p, bool layout_intact, char ***ret, size_t *ret_n);

/* ---- hooks (hooks.c) --------------------------------------------------- */

struct lb_hook_result {
	char *program;
	const char *phase;	/* "pre-capture" or "post-capture" */
	int status;		/* exit status; -1 when killed or not run */
	bool timed_out;
	char *error;		/* could not be run, was killed or timed out */
	char *output;		/* stdout and stderr, at most 64 KiB */
	size_t output_len;
	bool truncated;
	double seconds;
};

/* Runs program with no arguments and no shell, LIFEBOAT_CAPTURE=capture
 * and LIFEBOAT_PHASE=phase added to the environment, stdin /dev/null,
 * stdout and stderr collected. After timeout seconds (0: none) its process
 * group gets SIGTERM, 5 s later SIGKILL. 0 when it exited 0, else < 0 with
 * lb_err() said; ret filled either way (clear it with lb_hook_result_clear). */
int lb_hook_run(const char *program, const char *phase, const char *capture, uint32_t timeout,
		struct lb_hook_result *ret);
void lb_hook_result_clear(struct lb_hook_result *h);
/* Appends the hook's record to a capture log. */
void lb_hook_log(int logfd, const struct lb_hook_result *h);
/* Runs programs in order, each logged to logfd (when >= 0), up to the
 * first that fails (or, keep_going, every one); the first error is
 * returned. */
int lb_hooks_run(char *const *programs, size_t n, const char *phase, const char *capture,
		 uint32_t timeout, int logfd, bool keep_going);

/* ---- the capture log (log.c) ------------------------------------------- */

/* Opens dir/capture.log for appending. */
int lb_log_open(const char *dir);
/* One line, after the time (UTC, the clock's). */
void lb_log(int fd, const char *fmt, ...) _printf_(2, 3);

/* ---- a capture, from start to its place (capture.c) ------------------- */

struct lb_capture_req {
	const char *output;	/* one capture directory (--output) */
	const char *into;	/* a directory of generations; one of the two */
	uint32_t keep;		/* 0: keep every generation */
	struct lb_scan_opts *scan;
	struct lb_data_opts *data;
	const char *data_mode;	/* as given, recorded in the manifest */
	const char *key_file;	/* encrypt with the key from it; NULL: do not */
	char *const *pre;	/* hooks */
	size_t n_pre;
	char *const *post;
	size_t n_post;
	uint32_t hook_timeout;
	bool pre_continue;	/* a failing pre-capture hook does not stop it */
};

struct lb_capture_result {
	char *dir;		/* the capture, when it got its place */
	size_t n_disks;
	unsigned n_volumes;
	bool usage;		/* failed on what the user asked for: exit 2 */
	bool late_failure;	/* in place, but latest, pruning or a post-capture
				 * hook failed after */
};

/* Runs the pre-capture hooks, captures into a partial directory beside the
 * destination, verifies it, renames it into place, points 'latest' at it
 * and prunes (into), runs the post-capture hooks. On failure nothing is
 * left that looks like a capture and no earlier capture is touched. */
int lb_capture_run(const struct lb_capture_req *req, struct lb_capture_result *ret);
void lb_capture_result_clear(struct lb_capture_result *r);

#endif
