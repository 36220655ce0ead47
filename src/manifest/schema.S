/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The manifest schema, built into the binary so every load validates
 * against exactly the schema this lifeboat was built with. */
	.section .rodata
	.global lb_schema_rng
	.type lb_schema_rng, @object
	.balign 16
lb_schema_rng:
	.incbin "schema/lifeboat-manifest.rng"
	.byte 0
	.global lb_schema_rng_len
	.type lb_schema_rng_len, @object
	.balign 4
lb_schema_rng_len:
	.int lb_schema_rng_len - lb_schema_rng - 1
	.section .note.GNU-stack,"",@progbits
