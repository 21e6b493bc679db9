/// Text that came from a recipe (or a plugin, a run record, a tool's output), made safe to show on a
/// person's terminal.
///
/// A recipe's text reaches the operator's terminal in lint findings, tag names, release notes, check
/// details, file names and plugin metadata. Raw, an ESC there is a terminal command (move the cursor,
/// rewrite earlier lines, set the window title, …), a CR overwrites the line it ends, and a bidi
/// override makes text read other than it is (CVE-2021-42574, "Trojan Source"). So every such
/// character is shown escaped, the way Swift writes it in a string literal:
///
/// - `\t`, `\n`, `\r` for tab, line feed and carriage return;
/// - `\u{XX}` (hexadecimal, at least two digits) for every other control character (C0, DEL, C1),
///   the bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line and
///   paragraph separators U+2028 and U+2029: ESC is `\u{1B}`, BEL `\u{07}`, RLO `\u{202E}`.
///
/// Everything else, printable text and the ordinary space, is shown as it is; a backslash is not
/// doubled, so an escape is only told apart from the same characters typed into the recipe by
/// reading the recipe (the JSON output, `--json`, always has the exact text). The result holds no
/// character a terminal acts on, so escaping it again changes nothing.
///
/// Apply it to each field at the point where cchost writes for a person (the CLI's output lines,
/// the console report, log lines on stderr); the JSON, JUnit and Markdown formats escape by their own rules.
public enum TerminalText {
    /// `text` with every character a terminal would act on shown escaped (see the type).
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isEscaped) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isEscaped(scalar) else { out.append(scalar); continue }
            let shown = switch scalar {
            case "\t": "\\t"
            case "\n": "\\n"
            case "\r": "\\r"
            default: "\\u{" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
            out.append(contentsOf: shown.unicodeScalars)
        }
        return String(out)
    }

    /// True for what `escaped` shows escaped: control characters, bidi controls, line and paragraph separators.
    public static func isEscaped(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        case .format: return bidiControls.contains(scalar.value)
        default: return false
        }
    }

    /// ALM, LRM, RLM, the embeddings and overrides LRE…RLO, and the isolates LRI…PDI.
    static let bidiControls: Set<UInt32> = [0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
                                            0x2066, 0x2067, 0x2068, 0x2069]
}
