package com.example.lib;

public class Lib {
    public static String hi() {
        return "hi";
    }
}
