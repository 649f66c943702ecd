/* spin.S - the smallest guest for the host tests: a 32-bit multiboot ELF that halts forever.
 * Build: as --32 -o spin.o spin.S && ld -m elf_i386 -Ttext=0x100000 -o spin.elf spin.o
 * Boot:  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/path/spin.elf</kernel></os>
 * It is idle (interrupts off, hlt), so it migrates as an almost all-zero guest. */
        .set MB_MAGIC, 0x1BADB002
        .set MB_FLAGS, 0
        .section .text
        .align 4
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
        .globl _start
_start:
        cli
1:      hlt
        jmp 1b
