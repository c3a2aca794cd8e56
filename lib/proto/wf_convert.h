/* Host <-> wire value translation. The wire uses Linux x86-64 numbers; on such
 * a host these are identities, but every conversion goes through here so a port
 * changes one file. */
#ifndef WF_CONVERT_H
#define WF_CONVERT_H

#include <stdint.h>
#include <sys/types.h>

/* errno: positive in, positive out. Unknown codes become EIO. */
int32_t wf_errno_to_wire(int host_errno);
int wf_errno_from_wire(int32_t wire_errno);

/* result field: >= 0 passes through, < 0 is a negated errno on both sides. */
int32_t wf_result_to_wire(int host_result);
int wf_result_from_wire(int32_t wire_result);

uint32_t wf_mode_to_wire(mode_t host_mode);
mode_t wf_mode_from_wire(uint32_t wire_mode);

int32_t wf_oflags_to_wire(int host_flags);
int wf_oflags_from_wire(int32_t wire_flags);

int8_t wf_access_to_wire(int host_mode);
int wf_access_from_wire(int8_t wire_mode);

uint8_t wf_rename_to_wire(unsigned host_flags);
unsigned wf_rename_from_wire(uint8_t wire_flags); /* unknown bits are kept so the callee can reject them */

#endif
