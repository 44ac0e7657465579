// Debian's libopenblas-dev; pkg-config `openblas` puts its cblas.h on the include path.
#include <cblas.h>
