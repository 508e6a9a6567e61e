package org.xenids.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class PrintableTest {

    @Test
    void controlsAreEscapedAndOtherTextKept() {
        assertEquals("caf\u00e9 \\x1b]0;x\\x07 a\\x0ab \\x7f\\x85", Printable.controlsEscaped("caf\u00e9 \u001b]0;x\u0007 a\nb \u007f\u0085"));
        String plain = "r\u00e9sum\u00e9.pcap";
        assertSame(plain, Printable.controlsEscaped(plain), "nothing to escape: the string itself");
    }

    @Test
    void asciiEscapesEverythingElseWithWideCharactersInBraces() {
        assertEquals("caf\\xe9 \\x{20ac} \\x1b[0m", Printable.ascii("caf\u00e9 \u20ac \u001b[0m"));
    }

    @Test
    void cutKeepsTheFirstCharactersEscapedAndSaysTheLength() {
        assertEquals("ab\\x0a… (5 characters)", Printable.cut("ab\ncd", 3));
        assertEquals("ab\\x0acd", Printable.cut("ab\ncd", 5));
        assertEquals("null", Printable.cut(null, 5));
    }
}
