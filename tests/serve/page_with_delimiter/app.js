// The delimiter, as a string: )blt_page"
const s = ")blt_page\"";
