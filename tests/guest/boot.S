/*
 * boot.S - multiboot (v1) header and entry of the test guest.
 *
 * The boot loader (QEMU -kernel, libvirt <kernel>, GRUB) leaves us in flat
 * 32-bit protected mode, paging off, interrupts off, %eax = 0x2BADB002,
 * %ebx = physical address of the multiboot information. We set a stack,
 * clear .bss and call guest_main(magic, mbi); nothing else is set up.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules; bit 1: memory info */

        .section .multiboot, "a"
        .balign 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

        .section .bss
        .balign 16
stack_bottom:
        .skip 16384
stack_top:

        .section .text
        .globl _start
        .type _start, @function
_start:
        cli
        cld
        movl $stack_top, %esp
        movl %eax, %esi                 /* keep magic and mbi across the clear */
        movl %ebx, %edx
        movl $__bss_start, %edi
        movl $__bss_end, %ecx
        subl %edi, %ecx
        xorl %eax, %eax
        rep stosb
        movl $stack_top, %esp           /* the stack lives in .bss: reset it */
        pushl $0                        /* keep the stack 16-byte aligned */
        pushl $0
        pushl %edx                      /* mbi */
        pushl %esi                      /* magic */
        call guest_main
1:      cli
        hlt
        jmp 1b
        .size _start, . - _start

        .section .note.GNU-stack, "", @progbits
