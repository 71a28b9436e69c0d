/* A fresh store in its own temporary directory (see tmpstore.h). */
#include "tests/unit/support/tmpstore.h"

#include "storage/batch.h"
#include "storage/store.h"
#include "tests/unit/support/bossfile.h"

int tmpstore_open(struct tmpstore *ts, const char *tag)
{
	int r;

	ts->s = NULL;
	ts->b = NULL;
	if ((r = bossfile_tmpdir(tag, ts->dir, sizeof(ts->dir))))
		return r;
	if ((r = store_open(ts->dir, NULL, &ts->s))) {
		bossfile_rmtree(ts->dir);
		return r;
	}
	ts->b = batch_new(0);
	return 0;
}

void tmpstore_close(struct tmpstore *ts)
{
	batch_free(ts->b);
	store_free(ts->s);
	bossfile_rmtree(ts->dir);
	ts->b = NULL;
	ts->s = NULL;
}
