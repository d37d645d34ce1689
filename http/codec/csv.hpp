// RFC 4180 CSV with spreadsheet-formula neutralisation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ls::csv {

/// Appends one cell: a cell starting with = + - @ TAB or CR gets a leading
/// apostrophe (so a spreadsheet shows it as text); then, if it contains a
/// comma, quote, CR or LF (or starts or ends with a space), it is quoted with
/// inner quotes doubled. Invalid UTF-8 is replaced by U+FFFD.
void append_cell(std::string& out, std::string_view cell);

/// Appends cells separated by commas and terminated by CRLF.
void append_row(std::string& out, const std::vector<std::string_view>& cells);

} // namespace ls::csv
