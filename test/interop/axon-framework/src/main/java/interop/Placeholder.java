package interop;
public class Placeholder {}
