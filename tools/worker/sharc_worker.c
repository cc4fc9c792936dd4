/* sharc-worker: what pools with start method spawn run. Kernels come from
 * the libraries the pool names; everything else from the library. */
#include <sharc.h>

int main(int argc, char **argv) { return sharc_worker_main(argc, argv); }
